"""Exercise 8.3 cannot be passed by probing a library convolution with combs of deltas.

The re-review of chapter 8 passed 8.3 without deriving ``dx``: the convolution is linear and a
delta's footprint is k x k, so deltas spaced k apart give responses that do not overlap; k^2 C_in
forward passes of ``F.conv2d`` and a box-sum of response times ``dz`` then give ``dx``. The check
now switches library convolutions off (``forbid("autograd", "engine", "conv")``) while the
student's function runs. Each test fills in the student copy of chapter 8 with one answer to 8.3
(the other exercises stay blank) and grades it with the instructor's grader.
"""
import pytest
from grade_helpers import grade_answer

CALL = '''

x = rng.standard_normal((2, 6, 14, 14))
weight, bias = rng.standard_normal((16, 6, 5, 5)), rng.standard_normal(16)
grads = stage_backward(rng.standard_normal((2, 16, 5, 5)), x, weight, bias)
'''

# the forward values, dz, dbias and dweight with einsum on sliding windows (allowed)
FORWARD = '''
from numpy.lib.stride_tricks import sliding_window_view


def forward_and_dz(dout, x, weight, bias):
    k = weight.shape[-1]
    windows = sliding_window_view(x, (k, k), axis=(2, 3))
    z = np.einsum("nchwij,ocij->nohw", windows, weight) + bias[:, None, None]
    s = 1.0 / (1.0 + np.exp(-z))
    dz = np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3) / 4.0 * s * (1.0 - s)
    return dz, np.einsum("nchwij,nohw->ocij", windows, dz), dz.sum(axis=(0, 2, 3))
'''

HONEST = FORWARD + '''

def stage_backward(dout, x, weight, bias):
    dz, dweight, dbias = forward_and_dz(dout, x, weight, bias)
    k = weight.shape[-1]
    padded = np.pad(dz, ((0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)))
    dz_windows = sliding_window_view(padded, (k, k), axis=(2, 3))
    dx = np.einsum("nohwij,ocij->nchw", dz_windows, weight[:, :, ::-1, ::-1])
    return dx, dweight, dbias
'''

# dx by comb probing of F.conv2d, then a box-sum of response x dz per footprint
COMB_DX = '''
    t = torch.from_numpy
    N, C_in, H, W = x.shape
    k = weight.shape[-1]
    ii, jj = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    phase = (ii % k) * k + (jj % k)                      # which comb holds pixel (i, j)
    ones = t(np.ones((1, 1, k, k)))
    dx = np.zeros_like(x)
    for c in range(C_in):
        probes = np.zeros((k * k, C_in, H, W))
        probes[phase.ravel(), c, ii.ravel(), jj.ravel()] = 1.0
        y = F.conv2d(t(probes), t(weight)).numpy()       # (k*k, C_out, H_o, W_o)
        prod = (dz[:, None] * y[None]).sum(2)
        prod = np.pad(prod, ((0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)))
        box = F.conv2d(t(prod.reshape(-1, 1, *prod.shape[2:])), ones).numpy()
        box = box.reshape(N, k * k, H, W)
        dx[:, c] = np.take_along_axis(box, phase[None, None], axis=1)[:, 0]
    return dx, dweight, dbias
'''

CHEATS = {
    # the reviewer's cheat as submitted: F.conv2d for the forward pass, dweight and the probes
    "comb probing, all with F.conv2d": ('''
def stage_backward(dout, x, weight, bias):
    t = torch.from_numpy
    k = weight.shape[-1]
    z = F.conv2d(t(x), t(weight), t(bias)).numpy()
    s = 1.0 / (1.0 + np.exp(-z))
    dz = np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3) / 4.0 * s * (1.0 - s)
    dbias = dz.sum(axis=(0, 2, 3))
    dweight = F.conv2d(t(x.transpose(1, 0, 2, 3).copy()),
                       t(dz.transpose(1, 0, 2, 3).copy())).numpy().transpose(1, 0, 2, 3)
''' + COMB_DX),
    # the same probing, with everything else computed honestly: only dx needs F.conv2d
    "comb probing of F.conv2d for dx only": (FORWARD + '''

def stage_backward(dout, x, weight, bias):
    dz, dweight, dbias = forward_and_dz(dout, x, weight, bias)
''' + COMB_DX),
}


def graded_83(tmp_path, answer):
    return grade_answer(tmp_path, "08_lenet", "def stage_backward(",
                        answer.strip() + "\n" + CALL, timeout=240)


def test_derived_gradients_get_the_points(tmp_path):
    results, report = graded_83(tmp_path, HONEST)
    assert results["8.3"].earned == 4 and results["8.3"].status == "ok", report.lines()
    assert all(results[e].earned == 0 for e in ("8.1", "8.2"))  # left blank


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_probing_a_library_convolution_loses_the_points(tmp_path, cheat):
    results, report = graded_83(tmp_path, CHEATS[cheat])
    assert results["8.3"].earned == 0 and results["8.3"].status == "failed", report.lines()
    assert "conv" in results["8.3"].detail, results["8.3"].detail


# 8.1's values are hidden tests: a table with one pair wrong or a wrong count loses the points
ANSWER_81 = '''
def c3_table():
    table = np.zeros((16, 6), dtype=bool)
    for o in range(6):
        table[o, [(o + i) % 6 for i in range(3)]] = True
        table[6 + o, [(o + i) % 6 for i in range(4)]] = True
    for o, reads in zip((12, 13, 14), ([0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5])):
        table[o, reads] = True
    table[15] = True
    return table


def partial_conv2d(x, weight, bias, table):
    masked = np.where(np.asarray(table, dtype=bool)[:, :, None, None], weight, 0.0)
    return F.conv2d(torch.from_numpy(x), torch.from_numpy(masked),
                    torch.from_numpy(bias)).numpy()


c3_params, c3_macs, lenet_params_with_c3 = 1516, 150000, 60806
'''


@pytest.mark.parametrize("change, earned", [
    ("", 3),
    ("table[4, 1] = True\n    return table", 0),                    # one pair too many
    ("c3_macs = 151600\n", 0),                                      # the paper's connections
])
def test_81_values_are_checked_by_hidden_tests(tmp_path, change, earned):
    answer = ANSWER_81
    if change.startswith("table"):
        answer = answer.replace("    return table", "    " + change, 1)
    else:
        answer += change
    results, report = grade_answer(tmp_path, "08_lenet", "def c3_table(", answer, timeout=240)
    result = results["8.1"]
    assert result.earned == earned, report.lines()
    assert result.status == ("ok" if earned else "failed"), report.lines()
    if not earned:   # a hidden test's message is not quoted
        assert result.detail.startswith("a hidden test failed"), result.detail
