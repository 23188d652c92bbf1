"""Several processes on one machine, and the one collective that SyncBatchNorm needs.

Data-parallel training splits each batch across processes (usually one per GPU): every process
holds a *shard* of the batch and a copy of the model.  Batch norm in each process then sees only
its shard; :class:`normlib.layers.SyncBatchNorm` normalizes with the statistics of the whole batch
instead, by adding up its sums over the processes with :func:`sum_over_processes`.

:func:`run` starts such processes here, on the CPU, joined by ``torch.distributed``'s gloo
backend, so that the book (and its tests) can show SyncBatchNorm with real processes.
:func:`batch_norm_shards` is the function the book runs in them.
"""

import datetime
import multiprocessing
import pickle
import queue
import socket
import time
import traceback

import torch
import torch.distributed as dist


# ---- the collective ------------------------------------------------------------------------------

class _SumOverProcesses(torch.autograd.Function):
    """``Σ_k t_k``: every process passes its own ``t_k`` and receives the sum.

    Why the backward pass sums too.  Every process k computes a loss L_k from the sum s, and the
    training objective is their total L = Σ_j L_j (data-parallel training adds, or averages, the
    processes' gradients).  Since s = Σ_k t_k, ∂s/∂t_k = 1, so

        ∂L/∂t_k = Σ_j ∂L_j/∂s,

    and process j holds only its own ∂L_j/∂s (the gradient that reaches it).  The backward pass
    must therefore sum the incoming gradients over the processes: another all-reduce.  A plain
    ``torch.distributed.all_reduce`` is invisible to autograd: each process would differentiate
    its own loss only, and the input gradients would miss what the other shards' losses owe to
    this shard's values through the shared mean and variance.
    """

    @staticmethod
    def forward(ctx, t, group):
        ctx.group = group
        total = t.clone(memory_format=torch.contiguous_format)   # all_reduce works in place
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
        return total

    @staticmethod
    def backward(ctx, grad_total):
        grad = grad_total.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        return grad, None


def sum_over_processes(t, group=None):
    """The sum of the tensor ``t`` over the processes of ``group`` (by default all of them),
    the same in every process, and differentiable (see ``_SumOverProcesses``).  Every process of
    the group must call it, in the same order, with a tensor of the same shape."""
    return _SumOverProcesses.apply(t, group)


def world_size(group=None):
    """How many processes take part: 1 when ``torch.distributed`` is not initialized."""
    if not (dist.is_available() and dist.is_initialized()):
        return 1
    return dist.get_world_size(group)


# ---- running a function in several processes -----------------------------------------------------

def run(fn, *args, world_size=2, timeout=120):
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` new processes that form one
    ``torch.distributed`` group (gloo backend, over this machine's loopback), and return what
    each returned, in rank order.

    ``fn`` must be importable by the new processes (defined in a module, such as
    :func:`batch_norm_shards`, not in a notebook cell); its arguments and results are pickled.
    Each process uses one CPU thread.  If a process raises, ``run`` raises a ``RuntimeError``
    with its traceback.  ``timeout`` (seconds) bounds the whole run.
    """
    if not callable(fn):
        raise TypeError(f"run: fn must be a function, got {type(fn).__name__}")
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"run: world_size must be a positive int, got {world_size!r}")
    if not dist.is_available():
        raise RuntimeError("run: this build of torch has no torch.distributed")
    ctx = multiprocessing.get_context("spawn")   # fresh interpreters: safe with torch's threads
    results = ctx.Queue()
    address = f"tcp://127.0.0.1:{_free_port()}"
    workers = [ctx.Process(target=_worker, args=(fn, rank, world_size, address, args, timeout,
                                                 results), daemon=True)
               for rank in range(world_size)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + timeout
    try:
        out = {}
        while len(out) < world_size:
            try:
                rank, ok, payload = results.get(timeout=0.5)
            except queue.Empty:   # nothing yet: has a process died without a word, or time run out?
                dead = [r for r, w in enumerate(workers) if w.exitcode not in (None, 0)]
                if dead or time.monotonic() > deadline:
                    why = f"process {dead[0]} exited with code {workers[dead[0]].exitcode}" \
                        if dead else f"no result after {timeout} s"
                    raise RuntimeError(f"run: {why}") from None
                continue
            if not ok:
                raise RuntimeError(f"run: process {rank} of {world_size} failed:\n{payload}")
            out[rank] = pickle.loads(payload)
        return [out[rank] for rank in range(world_size)]
    finally:
        for w in workers:
            w.join(timeout=5)
            if w.is_alive():
                w.terminate()
                w.join()


def _free_port():
    """A TCP port that nothing listens on now (the operating system picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(fn, rank, world_size, address, args, timeout, results):
    torch.set_num_threads(1)
    try:
        dist.init_process_group("gloo", init_method=address, rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=timeout))
        try:
            results.put((rank, True, pickle.dumps(fn(rank, world_size, *args))))
        finally:
            dist.destroy_process_group()
    except BaseException:   # noqa: BLE001 (report everything to the parent, then stop)
        results.put((rank, False, traceback.format_exc()))


# ---- what the book runs in them ------------------------------------------------------------------

def shard(x, rank, world_size, sizes=None):
    """This process's part of the batch ``x``: consecutive slices along the batch axis, of
    ``sizes`` samples each (one per process), or as equal as possible when ``sizes`` is None."""
    if sizes is None:
        return torch.tensor_split(x, world_size)[rank]
    if len(sizes) != world_size or sum(sizes) != len(x):
        raise ValueError(f"shard: sizes must give one size per process ({world_size}) and add up "
                         f"to the batch size {len(x)}, got {list(sizes)}")
    start = sum(sizes[:rank])
    return x[start:start + sizes[rank]]


def batch_norm_shards(rank, world_size, batches, grads, state, sync=True, sizes=None,
                      layer="normlib", **options):
    """Training steps of batch norm in one process of a data-parallel run (use it with :func:`run`).

    For each batch in ``batches`` (whole batches, shape (N, C, ...)), this process takes its
    shard (see :func:`shard`), runs it through a :class:`~normlib.layers.SyncBatchNorm`
    (``sync=True``) or a plain batch norm on the shard alone (``sync=False``) in training mode,
    and backpropagates the same shard of the matching gradient in ``grads``.  The layer is built
    with ``options`` (e.g. ``momentum=None``) and starts from ``state`` (a state dict, e.g. a
    ``BatchNorm2d``'s with the same options).

    ``layer="torch"`` uses ``torch.nn.SyncBatchNorm`` instead, which (in torch 2.13) refuses
    CPU tensors in such a run: the book shows that refusal.

    Returns a dict: ``outputs``, ``input_grads`` and ``weight_grads``/``bias_grads`` (lists, one
    per step; parameter gradients as this process alone computed them, before any averaging
    across processes) and the final ``state`` (running statistics included).
    """
    from .layers import SyncBatchNorm   # here: layers imports this module
    if layer not in ("normlib", "torch"):
        raise ValueError(f"batch_norm_shards: layer must be 'normlib' or 'torch', got {layer!r}")
    cls = SyncBatchNorm if layer == "normlib" else torch.nn.SyncBatchNorm
    layer = cls(batches[0].shape[1], dtype=batches[0].dtype, **options)
    layer.load_state_dict(state)
    layer.train()
    if not sync:   # a group of this process alone: the layer is plain batch norm on the shard
        groups = [dist.new_group(ranks=[r]) for r in range(world_size)]   # all, in every process
        layer.process_group = groups[rank]
    out = {"outputs": [], "input_grads": [], "weight_grads": [], "bias_grads": []}
    for x, g in zip(batches, grads):
        xs = shard(x, rank, world_size, sizes).clone().requires_grad_()
        y = layer(xs)
        y.backward(shard(g, rank, world_size, sizes))
        out["outputs"].append(y.detach())
        out["input_grads"].append(xs.grad)
        for name in ("weight", "bias"):
            p = getattr(layer, name)
            out[f"{name}_grads"].append(None if p is None else p.grad.clone())
            if p is not None:
                p.grad = None
    out["state"] = layer.state_dict()
    return out
