"""Hidden tests: lines of a check cell between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS`` are left out of the student copy, run by the instructor's grader (which
takes its check cells from the solution notebook) and, in the student edition (which has only
the blank copies), turn an exercise's score into "hidden", out of the local total."""
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnbook import exercises, grade

HIDDEN = ("assert type(predicted()) is int, 'predicted() returns an int'\n"
          "### BEGIN HIDDEN TESTS\n"
          "assert predicted() == 4 * 10 + 2, 'the prediction is off by a few'\n"
          "### END HIDDEN TESTS")


def meta(id_, points):
    return {"exercise": {"id": id_, "points": points, "difficulty": 1, "objective": "An objective."}}


def solution_notebook(check=HIDDEN):
    cells = [
        new_markdown_cell("# Exercises", id="title"),
        new_code_cell("import numpy as np", id="imports"),
        new_markdown_cell("**Exercise 8.1** Predict.", metadata=meta("8.1", 2), id="ex81"),
        new_code_cell("def predicted():\n    # BEGIN SOLUTION\n    return 42\n    # END SOLUTION", id="sol81"),
        new_code_cell(check, metadata={"tags": ["check"]}, id="check81"),
        new_markdown_cell("**Exercise 8.2** Add.", metadata=meta("8.2", 1), id="ex82"),
        new_code_cell("def add(a, b):\n    # BEGIN SOLUTION\n    return a + b\n    # END SOLUTION", id="sol82"),
        new_code_cell("assert add(2, 3) == 5", metadata={"tags": ["check"]}, id="check82"),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def test_hidden_lines_are_stripped_from_the_student_copy():
    student = exercises.make_student_notebook(solution_notebook())
    check = next(c for c in student.cells if c.id == "check81").source
    assert check.splitlines() == ["assert type(predicted()) is int, 'predicted() returns an int'",
                                  exercises.HIDDEN_NOTE]
    assert "4 * 10" not in nbformat.writes(student) and "HIDDEN TESTS" not in nbformat.writes(student)
    assert "4 * 10" in next(c for c in solution_notebook().cells if c.id == "check81").source
    [e81, e82] = exercises.list_exercises(solution_notebook())
    assert (e81.hidden_cells, e81.stripped_cells, e82.hidden_cells) == ((4,), (), ())
    [s81, s82] = exercises.list_exercises(student, require_solutions=False)
    assert (s81.stripped_cells, s81.hidden_here, s82.hidden_here) == ((4,), True, False)


def test_indented_hidden_lines_keep_their_indentation():
    check = ("for n in (1, 2):\n    assert n > 0\n    ### BEGIN HIDDEN TESTS\n    assert n < 3\n"
             "    ### END HIDDEN TESTS")
    text = exercises.hidden_text(check)
    assert text == f"for n in (1, 2):\n    assert n > 0\n    {exercises.HIDDEN_NOTE}"


@pytest.mark.parametrize("check, message", [
    ("assert True\n### BEGIN HIDDEN TESTS\nassert 1", "never closed"),
    ("assert True\n### END HIDDEN TESTS", "without a '### BEGIN HIDDEN TESTS'"),
    ("### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS", "inside the hidden-test region"),
    ("### BEGIN HIDDEN TESTS here\nassert 1\n### END HIDDEN TESTS", "unexpected text"),
    ("x = 1  # BEGIN HIDDEN TESTS\nassert x", "must stand alone"),
    ("if True:\n    ### BEGIN HIDDEN TESTS\n    assert 1\n    ### END HIDDEN TESTS", "does not parse"),
])
def test_bad_hidden_markers_name_the_notebook_and_the_cell(check, message):
    with pytest.raises(exercises.ExerciseError, match=message) as error:
        exercises.make_student_notebook(solution_notebook(check), name="solutions/08_demo.ipynb")
    assert "solutions/08_demo.ipynb, cell 4 (id 'check81')" in str(error.value)


def test_hidden_markers_outside_a_check_cell_are_an_error():
    nb = solution_notebook()
    nb.cells[3].source += "\n### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS"
    with pytest.raises(exercises.ExerciseError, match="cell 3 .*belong in a code cell tagged 'check'"):
        exercises.list_exercises(nb, "demo")


def test_nbgrader_source_keeps_nbgraders_own_markers():
    nb = exercises.nbgrader_notebook(solution_notebook())
    check = next(c for c in nb.cells if c.id == "check81")
    assert "### BEGIN HIDDEN TESTS\nassert predicted() == 4 * 10 + 2" in check.source
    assert check.metadata["nbgrader"]["grade"] is True  # nbgrader accepts hidden tests in grade cells


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    (root / "solutions").mkdir()
    nbformat.write(solution_notebook(), root / "solutions" / "08_demo.ipynb")
    exercises.generate(root)
    return root


def submission(book, folder, body81=None, body82=None):
    nb = nbformat.read(book / "exercises" / "08_demo.ipynb", as_version=4)
    for cell in nb.cells:
        if body81 and cell.id == "sol81":
            cell.source = f"def predicted():\n    {body81}"
        if body82 and cell.id == "sol82":
            cell.source = f"def add(a, b):\n    {body82}"
    path = folder / "08_demo.ipynb"
    nbformat.write(nb, path)
    return path


def scores(report):
    return {r.id: (r.earned, r.status) for r in report.results}


def test_the_instructors_grader_runs_the_hidden_lines(book, tmp_path):
    full = grade.grade_notebook(book / "solutions" / "08_demo.ipynb", solutions=book / "solutions")
    assert scores(full) == {"8.1": (2, "ok"), "8.2": (1, "ok")} and not full.flags
    (tmp_path / "wrong").mkdir()
    wrong = grade.grade_notebook(submission(book, tmp_path / "wrong", "return 41", "return a + b"),
                                 solutions=book / "solutions")
    assert scores(wrong) == {"8.1": (0, "failed"), "8.2": (1, "ok")}
    assert (wrong.earned, wrong.possible) == (1, 3)
    detail = wrong.results[0].detail
    assert "hidden test failed" in detail and "42" not in detail and "off by a few" not in detail
    assert not wrong.flags  # the student copy's check cell (hidden lines removed) is not "edited"
    (tmp_path / "format").mkdir()
    visible = grade.grade_notebook(submission(book, tmp_path / "format", "return '42'"),
                                   solutions=book / "solutions")
    assert visible.results[0].status == "failed" and "returns an int" in visible.results[0].detail


def test_the_student_edition_reports_hidden_and_leaves_it_out_of_the_total(book, tmp_path):
    (tmp_path / "wrong").mkdir()
    wrong = grade.grade_notebook(submission(book, tmp_path / "wrong", "return 41", "return a + b"),
                                 solutions=book / "exercises")
    assert scores(wrong) == {"8.1": (0, "hidden"), "8.2": (1, "ok")}
    assert wrong.results[0].hidden and (wrong.earned, wrong.possible) == (1, 1)
    lines = wrong.lines()
    assert any("8.1" in line and "-/2" in line and "hidden" in line for line in lines)
    assert any("checked only by the instructor's grader" in line and "8.1" in line for line in lines)
    assert lines[-1] == "total: 1 / 1" and not wrong.flags
    untouched = grade.grade_notebook(book / "exercises" / "08_demo.ipynb", solutions=book / "exercises")
    assert scores(untouched) == {"8.1": (0, "failed"), "8.2": (0, "failed")}
    assert (untouched.earned, untouched.possible) == (0, 1)
    full = grade.grade_notebook(book / "solutions" / "08_demo.ipynb", solutions=book / "exercises")
    assert scores(full) == {"8.1": (0, "hidden"), "8.2": (1, "ok")}
    assert not full.flags  # a check cell with its hidden tests is not an edited one
    out = tmp_path / "grades.csv"
    grade.write_csv([wrong], out)
    assert out.read_text().splitlines()[1].startswith(f"{tmp_path / 'wrong' / '08_demo.ipynb'},hidden,1,1,1")


# -- the book's chapters 1-3: the cheats of the review of issue 11 lose their points ----------------

ROOT = Path(__file__).resolve().parents[1]

CHEATS_1 = {
    3: '''
def weight_counts(in_shape, out_shape, kernel_size, stride=1, padding=0):
    # measured with PyTorch's unfold instead of counted
    C_in, H, W = in_shape
    C_out, H_out, W_out = out_shape
    K = kernel_size
    patches = F.unfold(torch.ones(1, C_in, H, W), K, stride=stride, padding=padding)
    return {"dense": C_in * H * W * C_out * H_out * W_out,
            "convolution": C_out * C_in * K * K,
            "locally connected": C_out * H_out * W_out * C_in * K * K,
            "locally connected, on the image": C_out * int(patches[0].sum())}
''',
    9: '''
import scipy.sparse

def conv_as_matrix(kernel, H, W):
    K_h, K_w = kernel.shape
    H_out, W_out = H - K_h + 1, W - K_w + 1
    M = np.zeros((H_out, W_out, H, W))
    for i in range(H_out):
        for j in range(W_out):
            M[i, j, i:i + K_h, j:j + K_w] = kernel
    return M.reshape(H_out * W_out, H * W)

def nonzero_fraction(K_h, K_w, H, W):
    return (K_h * K_w) / (H * W)

def _sparse_m(kernel, H, W):      # conv_as_matrix under another name, vectorised, sparse
    K_h, K_w = kernel.shape
    H_out, W_out = H - K_h + 1, W - K_w + 1
    o = np.arange(H_out * W_out)
    oi, oj = o // W_out, o % W_out
    a, b = np.meshgrid(np.arange(K_h), np.arange(K_w), indexing="ij")
    rows = np.repeat(o, K_h * K_w)
    cols = ((oi[:, None] + a.ravel()) * W + oj[:, None] + b.ravel()).ravel()
    vals = np.tile(kernel.ravel(), H_out * W_out)
    return scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(H_out * W_out, H * W))

def conv_transpose(y, kernel):
    K_h, K_w = kernel.shape
    H, W = y.shape[0] + K_h - 1, y.shape[1] + K_w - 1
    return (_sparse_m(kernel, H, W).T @ y.ravel()).reshape(H, W)

fraction_28 = nonzero_fraction(3, 3, 28, 28)
''',
    13: '''
def matching_first_layer(weight, perm, C):
    # numerical: shuffle the identity, invert the matrix, no derivation
    n = weight.shape[1]
    eye = np.eye(n).reshape(n, C, 1, len(perm))
    P = data.permute_pixels(eye, perm).reshape(n, n)
    return torch.as_tensor(weight.numpy() @ np.linalg.inv(P).T)
''',
}

# the review's chapter 2 cheats: flip_relation measured with SciPy, n_sums by a search with
# np.convolve, input_grad by probing basis images, kernel_grad by a probe matrix, and
# two_layer_grads by finite differences
CHEATS_2 = {
    6: '''
def convolve2d(x, kernel):
    # no loops: fancy-indexed patches against the flipped kernel
    K_h, K_w = kernel.shape
    H_out, W_out = x.shape[0] - K_h + 1, x.shape[1] - K_w + 1
    i = np.arange(H_out)[:, None, None, None] + np.arange(K_h)[None, None, :, None]
    j = np.arange(W_out)[None, :, None, None] + np.arange(K_w)[None, None, None, :]
    return (x[i, j] * kernel[::-1, ::-1]).sum(axis=(2, 3))

def flip_relation(kernel):
    # measured with SciPy (allowed: forbid() without categories)
    z = np.random.default_rng(1).integers(-4, 5, (9, 9)).astype(float)
    a = scipy.signal.convolve2d(z, kernel, "valid")
    b = scipy.signal.correlate2d(z, kernel, "valid")
    if np.array_equal(a, b):
        return "same"
    return "negated" if np.array_equal(a, -b) else "other"

diagonal_example = [[0, 1, 2], [-1, 0, 1], [-2, -1, 0]]
''',
    10: '''
def sum_distribution(p, n):
    out = np.array([1.0])
    for _ in range(n):
        out = np.convolve(out, p)
    return out

def n_sums(n, m, zero_face=None):
    # a search in disguise: reachable sums, one vectorised convolution per die
    faces = np.ones(m + 1)
    faces[0] = 0
    if zero_face is not None:
        faces[zero_face] = 0
    reach = np.array([1.0])
    for _ in range(n):
        reach = np.minimum(np.convolve(reach, faces), 1)
    return int(reach.sum())

_fair = np.full(6, 1 / 6)
p_three_fair_10 = sum_distribution(_fair, 3)[10 - 3]
_loaded = sum_distribution(np.array([0.5] + [0.1] * 5), 2)
loaded_most_likely = int(_loaded.argmax()) + 2
p_loaded_most_likely = float(_loaded.max())
''',
    19: '''
def _patches(x, K_h, K_w):
    # a gather, not a strided view
    H_out, W_out = x.shape[-2] - K_h + 1, x.shape[-1] - K_w + 1
    i = np.arange(H_out)[:, None, None, None] + np.arange(K_h)[None, None, :, None]
    j = np.arange(W_out)[None, :, None, None] + np.arange(K_w)[None, None, None, :]
    return x[..., i, j].reshape(*x.shape[:-2], H_out * W_out, K_h * K_w)

def _forward(x, w):
    H_out, W_out = x.shape[-2] - w.shape[0] + 1, x.shape[-1] - w.shape[1] + 1
    return (_patches(x, *w.shape) @ w.ravel()).reshape(*x.shape[:-2], H_out, W_out)

def kernel_grad(x, dout):
    # numerical differentiation, all weights probed at once (one matrix product)
    K_h, K_w = x.shape[0] - dout.shape[0] + 1, x.shape[1] - dout.shape[1] + 1
    P = _patches(x, K_h, K_w)
    h = 1.0
    probes = P @ (h * np.eye(K_h * K_w))            # the forward pass of every probe
    base = P @ np.zeros(K_h * K_w)
    return ((dout.ravel() @ probes - dout.ravel() @ base) / h).reshape(K_h, K_w)

def input_grad(dout, weight):
    # numerical: probe every input pixel at once (a batch of basis images)
    H, W = dout.shape[0] + weight.shape[0] - 1, dout.shape[1] + weight.shape[1] - 1
    basis = np.eye(H * W).reshape(H * W, H, W)
    return (_forward(basis, weight).reshape(H * W, -1) @ dout.ravel()).reshape(H, W)

def two_layer_grads(x, w1, w2, dout):
    # numerical for both kernels: the loss is linear in each, so probes are exact
    def loss(a, b):
        return float(np.sum(dout * _forward(_forward(x, a), b)))
    dw1, dw2 = np.zeros_like(w1), np.zeros_like(w2)
    for idx in np.ndindex(*w1.shape):
        e = np.zeros_like(w1); e[idx] = 1.0
        dw1[idx] = loss(w1 + e, w2) - loss(w1, w2)
    for idx in np.ndindex(*w2.shape):
        e = np.zeros_like(w2); e[idx] = 1.0
        dw2[idx] = loss(w1, w2 + e) - loss(w1, w2)
    return dw1, dw2
''',
}

HONEST_INPUT_GRAD = """
def input_grad(dout, weight):
    K_h, K_w = weight.shape
    padded = np.pad(dout, ((K_h - 1, K_h - 1), (K_w - 1, K_w - 1)))
    return scipy.signal.correlate2d(padded, weight[::-1, ::-1], mode="valid")
"""
HONEST_KERNEL_GRAD = """
def kernel_grad(x, dout):
    H_out, W_out = dout.shape
    K_h, K_w = x.shape[0] - H_out + 1, x.shape[1] - W_out + 1
    grad = np.empty((K_h, K_w))
    for a in range(K_h):
        for b in range(K_w):
            grad[a, b] = np.sum(x[a:a + H_out, b:b + W_out] * dout)
    return grad
"""
PROBED_KERNEL_GRAD = CHEATS_2[19][:CHEATS_2[19].index("def input_grad")] + HONEST_INPUT_GRAD + """
def two_layer_grads(x, w1, w2, dout):
    z = scipy.signal.correlate2d(x, w1, mode="valid")
    return kernel_grad(x, input_grad(dout, w2)), kernel_grad(z, dout)
"""
FINITE_DIFFERENCES = HONEST_KERNEL_GRAD + HONEST_INPUT_GRAD + """
def two_layer_grads(x, w1, w2, dout):
    # finite differences through scipy's forward passes (the loss is linear in each kernel)
    def loss(a, b):
        z = scipy.signal.correlate2d(x, a, mode="valid")
        return float(np.sum(dout * scipy.signal.correlate2d(z, b, mode="valid")))
    base = loss(w1, w2)
    dw1, dw2 = np.zeros_like(w1), np.zeros_like(w2)
    for idx in np.ndindex(*w1.shape):
        e = np.zeros_like(w1); e[idx] = 1.0
        dw1[idx] = loss(w1 + e, w2) - base
    for idx in np.ndindex(*w2.shape):
        e = np.zeros_like(w2); e[idx] = 1.0
        dw2[idx] = loss(w1, w2 + e) - base
    return dw1, dw2
"""

# the review's chapter 3 cheats: unread pixels marked on a 2-D grid, a vectorised search of
# input sizes, and field_of simulated on sets of rows with the centres cracked from a digest
CHEATS_3 = {
    3: '''
def shape_and_unread(shape, kernel, padding, stride, dilation):
    # measured with NumPy instead of predicted: mark every pixel a window reads
    top, bottom, left, right = padding
    read = np.zeros((shape[0] + top + bottom, shape[1] + left + right), bool)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    rows = np.arange(0, read.shape[0] - spans[0] + 1, stride[0])
    cols = np.arange(0, read.shape[1] - spans[1] + 1, stride[1])
    r = (rows[:, None] + dilation[0] * np.arange(kernel[0])).ravel()
    c = (cols[:, None] + dilation[1] * np.arange(kernel[1])).ravel()
    read[np.ix_(r, c)] = True
    inner = read[top:top + shape[0], left:left + shape[1]]
    return (len(rows), len(cols)), int((~inner).sum())
''',
    10: '''
def input_sizes(m, K, s, P):
    # a vectorised search near m * s: few lines of code, no formula
    n = np.arange(max(1, m * s - 4 * s - 2 * P - 10), m * s + 2 * K + 10, dtype=np.int64)
    out = np.where((n >= 1) & (n + 2 * P >= K), (n + 2 * P - K) // s + 1, 0)
    return [int(v) for v in n[out == m]]

sizes_112 = input_sizes(112, 3, 2, 1)
count_stride_4 = len(input_sizes(10, 3, 4, 1))
''',
    14: '''
import hashlib
RESNET18 = ([(7, 2, 3, 1), (3, 2, 1, 1)] + [(3, 1, 1, 1)] * 4     # (K, s, P, d)
            + ([(3, 2, 1, 1)] + [(3, 1, 1, 1)] * 3) * 3)

def field_of(layers, i):
    # simulated: the rows each output reads, layer by layer, back to the input
    rows = np.array([i])
    for K, s, P, d in reversed(layers):
        rows = np.unique((rows[:, None] * s - P + d * np.arange(K)).ravel())
    return float(rows.min()), float(rows.max())

def _crack(name, truth):
    # the check's salted digest, brute-forced over arithmetic progressions of step 32
    for a2 in range(-2000, 2000):
        values = [a2 / 2 + 32 * i for i in range(7)]
        text = f"cnnbook 3.4 {name}: " + ", ".join(f"{v:.1f}" for v in values)
        if hashlib.sha256(text.encode()).hexdigest()[:24] == truth:
            return values
    return None

resnet_centres = _crack("resnet_centres", "d89d6ffc53eed9c027b0a4c1")
resnet_centres_tf = _crack("resnet_centres_tf", "c55c703da9b560c0e482806c")
print(resnet_centres, resnet_centres_tf)
''',
}


def book_submission(folder, name, cells):
    """The book's blank copy of ``name`` with the code cells at the given indices replaced."""
    nb = nbformat.read(ROOT / "exercises" / name, as_version=4)
    for index, source in cells.items():
        assert nb.cells[index].cell_type == "code"
        nb.cells[index].source = source.strip("\n")
    path = folder / name
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("name, cells, expected", [
    ("01_fully_connected.ipynb", CHEATS_1, {
        "1.1": "your code called torch.ones",                 # unfold to count: PyTorch is off
        "1.3": "more than 64 MB",                              # a sparse M does not fit
        "1.4": "MemoryError",                                  # a 750,000 x 750,000 identity
    }),
    ("02_convolution.ipynb", CHEATS_2, {
        "2.2": "your code called scipy.signal.convolve2d",    # flip_relation measured
        "2.3": "n_sums is a formula: your code called numpy.convolve",
        "2.5": "MemoryError",                                  # input_grad: a basis image per pixel
    }),
    ("02_convolution.ipynb", {19: PROBED_KERNEL_GRAD}, {"2.5": "more than 64 MB"}),
    ("02_convolution.ipynb", {19: FINITE_DIFFERENCES}, {"2.5": "more than 30 s"}),
    ("03_padding_and_stride.ipynb", CHEATS_3, {
        "3.1": "more than 256 MB",                             # a 2-D grid of read pixels
        "3.3": "more than 64 MB",                              # an array of candidate sizes
        "3.4": "more than 64 MB",                              # sets of rows, 2**42 of them
    }),
])
def test_the_reviews_cheats_lose_their_points(tmp_path, name, cells, expected):
    report = grade.grade_notebook(book_submission(tmp_path, name, cells), solutions=ROOT / "solutions")
    results = {r.id: r for r in report.results}
    for exercise_id, reason in expected.items():
        assert results[exercise_id].earned == 0, exercise_id
        assert reason in results[exercise_id].detail, (exercise_id, results[exercise_id].detail)


def test_the_honest_answers_stay_within_the_budgets(tmp_path):
    report = grade.grade_notebook(book_submission(
        tmp_path, "02_convolution.ipynb", {19: HONEST_KERNEL_GRAD + HONEST_INPUT_GRAD + """
def two_layer_grads(x, w1, w2, dout):
    z = scipy.signal.correlate2d(x, w1, mode="valid")
    return kernel_grad(x, input_grad(dout, w2)), kernel_grad(z, dout)
"""}), solutions=ROOT / "solutions")
    assert {r.id: r.status for r in report.results}["2.5"] == "ok"


# -- the budgets of exercise_checks ------------------------------------------------------------------

def test_limit_memory_passes_small_work_and_fails_a_table():
    import numpy as np

    from cnnbook.exercise_checks import limit_memory

    with limit_memory(16):
        np.zeros((300, 300)).sum()
    with pytest.raises(AssertionError, match=r"a table: more than 16 MB \(about \d+ MB\)"):
        with limit_memory(16, "a table"):
            np.zeros((6000, 6000))
    with pytest.raises(AssertionError, match=r"huge: more than 16 MB \(MemoryError\)"):
        with limit_memory(16, "huge"):
            np.ones(10**12)
    with pytest.raises(AssertionError, match="more than 16 MB"):   # caught inside: still fails
        with limit_memory(16):
            try:
                np.ones((6000, 6000))
            except MemoryError:
                pass


def test_limit_memory_refuses_a_stopped_counter():
    import tracemalloc

    from cnnbook.exercise_checks import limit_memory

    with pytest.raises(AssertionError, match="tracemalloc"):
        with limit_memory(16):
            tracemalloc.stop()


def test_limit_time_stops_a_long_block_and_fails_one_that_caught_the_alarm():
    import time

    from cnnbook.exercise_checks import limit_time

    with limit_time(5):
        time.sleep(0.01)
    start = time.perf_counter()
    with pytest.raises(AssertionError, match="probing: more than 0.2 s"):
        with limit_time(0.2, "probing"):
            while True:
                pass
    assert time.perf_counter() - start < 3
    with pytest.raises(AssertionError, match="more than 0.2 s"):
        with limit_time(0.2):
            try:
                time.sleep(1)
            except AssertionError:
                pass


@pytest.mark.parametrize("source, flag", [
    ("import hashlib", "imports hashlib (hash functions"),
    ("import tracemalloc", "imports tracemalloc (the memory counter"),
    ("from resource import setrlimit", "imports resource.setrlimit (process limits"),
])
def test_the_scan_flags_digest_searches_and_the_budgets_counters(source, flag):
    flags = grade.scan_submission([("cell 3", source)], "import numpy as np")
    assert any(flag in line for line in flags), flags
