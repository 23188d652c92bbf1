"""The feature-map cube of chapter 9: the shaded set is what normlib computes, labels follow the language."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from normlib.notebook import cube, i18n  # noqa: E402


def expected_set(kind, n, c, num_groups, example, channel):
    """The normalization sets of Wu & He (2018), section 3.1, written out by hand."""
    examples = torch.arange(n)[:, None]
    channels = torch.arange(c)[None, :]
    same_example, same_channel = examples == example, channels == channel
    same_group = channels // (c // num_groups) == channel // (c // num_groups)
    return {"bn": same_channel.expand(n, c), "ln": same_example.expand(n, c),
            "in": same_example & same_channel, "gn": same_example & same_group}[kind]


@pytest.mark.parametrize("kind", cube.KINDS)
@pytest.mark.parametrize("n,c,num_groups,example,channel", [
    (6, 6, 2, 0, 0), (6, 6, 3, 4, 5), (3, 8, 4, 2, 3), (2, 4, 1, 1, 2), (5, 4, 4, 3, 1),
])
def test_normalization_set_is_the_papers(kind, n, c, num_groups, example, channel):
    found = cube.normalization_set(kind, n, c, num_groups, example, channel)
    assert found.shape == (n, c) and found.dtype == torch.bool
    assert torch.equal(found, expected_set(kind, n, c, num_groups, example, channel))


def test_group_norm_sets_run_from_layer_norm_to_instance_norm():
    ln, inst = cube.normalization_set("ln"), cube.normalization_set("in")
    assert torch.equal(cube.normalization_set("gn", num_groups=1), ln)
    assert torch.equal(cube.normalization_set("gn", num_groups=6), inst)


@pytest.mark.parametrize("lang,title,words", [
    ("ko", "그룹 정규화 (GN)", {"N (예제)", "C (채널)", "H·W (위치)"}),
    ("en", "Group norm (GN)", {"N (examples)", "C (channels)", "H·W (positions)"}),
])
def test_cube_is_drawn_in_the_editions_language(lang, title, words):
    before = i18n.language()
    i18n.set_language(lang)
    try:
        fig, ax = plt.subplots()
        mask = cube.draw("gn", ax, n=4, c=6, num_groups=3, example=1)
        assert ax.get_title() == title
        assert words <= {t.get_text() for t in ax.texts}
        assert torch.equal(mask, expected_set("gn", 4, 6, 3, 1, 0))
        assert len(ax.patches) == 3 * 4 * 6          # three visible faces of every (example, channel) column
        blue = {tuple(round(s * v, 6) for v in matplotlib.colors.to_rgb("C0")) for s in cube.SHADES}
        shaded = [p for p in ax.patches if tuple(round(v, 6) for v in p.get_facecolor()[:3]) in blue]
        assert len(shaded) == 3 * int(mask.sum()) == 3 * 2
        plt.close(fig)
    finally:
        i18n.set_language(before)


@pytest.mark.parametrize("kwargs,word", [
    (dict(kind="xn"), "kind"),
    (dict(kind="gn", c=6, num_groups=4), "divisible"),
    (dict(kind="gn", n=0), "n must"),
    (dict(kind="in", hw=1), "hw"),
    (dict(kind="bn", example=6), "example"),
    (dict(kind="ln", channel=-1), "channel"),
    (dict(kind="gn", num_groups=True), "num_groups"),
])
def test_normalization_set_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        cube.normalization_set(**kwargs)
