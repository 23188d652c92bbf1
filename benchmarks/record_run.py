"""What the scripts that write a chapter's record share: ch5_rates.py and ch10_unet3d.py import it
from this folder.

``Run`` times the run (wall clock and CPU), prints progress with the elapsed time, says where and
when the record was made, and writes it.  ``quick_needs_out`` refuses a smoke run (``--quick``)
that would overwrite the chapter's record.
"""

import datetime
import json
import platform
import time

import torch

try:
    import resource
except ImportError:          # Windows: no CPU time of the process
    resource = None


def _cpu_seconds():
    if resource is None:
        return time.process_time()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Run:
    """One run of a record script, from its start."""

    def __init__(self):
        self.start_wall, self.start_cpu = time.perf_counter(), _cpu_seconds()

    def log(self, *parts):
        print(f"[{time.perf_counter() - self.start_wall:6.0f} s]", *parts, flush=True)

    def made(self, **where):
        """Where and when the record was made (``where``: the device or the CPU kernels), and how
        long it took."""
        return dict(date=datetime.date.today().isoformat(), platform=platform.platform(),
                    processor=platform.processor() or platform.machine(), torch=torch.__version__,
                    threads=torch.get_num_threads(), **where,
                    cpu_seconds=round(_cpu_seconds() - self.start_cpu),
                    wall_seconds=round(time.perf_counter() - self.start_wall))

    def write(self, record, path):
        path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        self.log("wrote", path)


def quick_needs_out(parser, args):
    if args.quick and args.out is None:
        parser.error("--quick writes a smoke-test record: give --out (never the chapter's record)")
