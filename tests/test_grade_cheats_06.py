"""Exercise 6.4 cannot be passed by listing offsets: cheats on ``covers`` lose its points.

The final review of chapter 6 passed ``covers`` by enumerating every sum of one tap offset per
layer in C (``itertools.product``), which fits any budget of notebook lines. The check now draws
stacks of up to 40 layers whose receptive fields are wider than 10^15 pixels, with strides, and
gives the student's function a limit on memory; the truth comes from hidden tests. Each test fills
in the student copy of chapter 6 with one answer to 6.4 (the other exercises stay blank) and
grades it with the instructor's grader.
"""
import pytest
from grade_helpers import grade_answer

COPIES = "copies = {(3, 2): (1, 2), (7, 3): (2, 3)}\n"

HONEST = '''
def covers(layers):
    steps, jump = [], 1
    for w, r, s in layers:
        if w > 1:
            steps.append((r * jump, (w - 1) * r * jump))
        jump *= s
    span = 0
    for rho, added in sorted(steps):
        if rho > span + 1:
            return False
        span += added
    return True
'''

CHEATS = {  # name: (answer, what the failure says)
    # the reviewer's cheat: every sum of one offset per layer, listed in C
    "itertools.product": ('''
import itertools


def covers(layers):
    taps, jump = [], 1
    for w, r, s in layers:
        taps.append(range(0, w * r * jump, r * jump))
        jump *= s
    field = sum(t[-1] for t in taps) + 1
    return len(set(map(sum, itertools.product(*taps)))) == field
''', "MemoryError"),
    # the reached offsets as a Python set, layer by layer
    "set of offsets": ('''
def covers(layers):
    reached, jump = {0}, 1
    for w, r, s in layers:
        reached = {a + j * r * jump for a in reached for j in range(w)}
        jump *= s
    return len(reached) == max(reached) + 1
''', "should test a condition, not list offsets"),
    # the reached offsets as the bits of one Python int
    "bits of an int": ('''
def covers(layers):
    bits, jump, field = 1, 1, 1
    for w, r, s in layers:
        shifted = 0
        for j in range(w):
            shifted |= bits << (j * r * jump)
        bits, field, jump = shifted, field + (w - 1) * r * jump, jump * s
    return bits == (1 << field) - 1
''', "MemoryError"),
    # a library convolution of tap indicators
    "np.convolve": ('''
def covers(layers):
    paths, jump = np.ones(1), 1
    for w, r, s in layers:
        taps = np.zeros((w - 1) * r * jump + 1)
        taps[::r * jump] = 1
        paths, jump = np.convolve(paths, taps), jump * s
    return bool(np.all(paths > 0))
''', "your code called numpy.convolve"),
}


def graded_64(tmp_path, answer):
    return grade_answer(tmp_path, "06_conv_variants", "def covers(",
                        answer.strip() + "\n\n\n" + COPIES)


def test_an_honest_condition_gets_the_points(tmp_path):
    results, report = graded_64(tmp_path, HONEST)
    assert results["6.4"].earned == 2 and results["6.4"].status == "ok", report.lines()
    assert all(results[e].earned == 0 for e in ("6.1", "6.2", "6.3"))  # left blank


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_listing_the_offsets_loses_the_points(tmp_path, cheat):
    answer, failure = CHEATS[cheat]
    results, report = graded_64(tmp_path, answer)
    assert results["6.4"].earned == 0 and results["6.4"].status == "failed", report.lines()
    assert failure in results["6.4"].detail, results["6.4"].detail
