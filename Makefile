# Convolutional Networks from Scratch — every command sets itself up on a fresh machine that has
# only Python 3.11 and make. The virtualenv is reinstalled only when the lock file changes.

SHELL   := /bin/bash
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.stamp-install
JOBS    ?= 2
BOOK_BUILD := $(VENV)/bin/jupyter-book build -W -n --keep-going
# Debian packages of the PDF edition and the browser test (.ci/run installs them).
PDF_PACKAGES := texlive-xetex texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended \
                texlive-lang-chinese latexmk fonts-freefont-otf fonts-noto-cjk poppler-utils
BROWSER_PACKAGES := chromium fonts-noto-cjk

# Reproducible notebook runs: the same hash seed everywhere. (Do not set MPLBACKEND here: the
# notebook kernels inherit it, and a non-inline backend silently drops every figure.)
export PYTHONHASHSEED := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1

NOTEBOOKS := $(sort $(wildcard chapters/*.ipynb) $(wildcard solutions/*.ipynb))

.PHONY: help install book pdf browser runtimes system-packages test unit notebooks execute exercises student grade nbgrader bench lock clean

help:
	@echo "make book       build the web book into _build/html (sets everything up first)"
	@echo "make pdf        build the PDF edition into _build/pdf/book.pdf (needs TeX Live, see README)"
	@echo "make browser    open every page of _build/html in headless Chromium, screenshots in _build/screenshots"
	@echo "make test       run every test, re-run every notebook (nbval) and build the book"
	@echo "make runtimes   time every chapter and solution notebook (in a scratch copy), write runtimes.md"
	@echo "make execute    re-run every chapter and solution notebook in place (NB=path for one)"
	@echo "make exercises  regenerate exercises/ (student copies) from solutions/"
	@echo "make student    build the student edition (no solutions) into _build/student/_build/html"
	@echo "make grade      grade exercise notebooks (NB=notebook or folder; default exercises/; JOBS at a time)"
	@echo "make nbgrader   write an nbgrader course (DIR=folder; default _build/nbgrader)"
	@echo "make bench      time the NumPy engine against PyTorch, write bench/results.md"
	@echo "make lock       re-resolve the dependencies of pyproject.toml into requirements.lock"
	@echo "make clean      remove build outputs (keeps .venv)"

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then \
	    echo "$(VENV) was made with another Python than 3.11: recreating it"; rm -rf $(VENV); fi
	@if [ ! -x $(PY) ]; then \
	    $(PYTHON) -c 'import sys; v = sys.version.split()[0]; sys.exit(0 if sys.version_info[:2] == (3, 11) else \
	        f"error: the book needs Python 3.11, and $(PYTHON) is Python {v}. Run make PYTHON=python3.11 (or the path of a Python 3.11)")' \
	    && $(PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.lock
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $@

book: $(STAMP)
	$(BOOK_BUILD) .
	@echo "The book is in _build/html/index.html"

# The PDF edition, offline, from Debian packages (README: "The PDF edition"): XeLaTeX with xeCJK.
pdf: $(STAMP)
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null || { echo "make pdf needs TeX Live:" \
	    "sudo apt-get install --no-install-recommends $(PDF_PACKAGES)"; exit 1; }
	$(BOOK_BUILD) --builder pdflatex .
	mkdir -p _build/pdf
	cp _build/latex/book.pdf _build/pdf/book.pdf
	@echo "The PDF edition is _build/pdf/book.pdf ($$(pdfinfo _build/pdf/book.pdf 2>/dev/null | sed -n 's/^Pages: *//p') pages)"

# The Debian packages of `make pdf` and the browser test, one line (.ci/run installs them).
system-packages:
	@echo $(sort $(BROWSER_PACKAGES) $(PDF_PACKAGES))

# Every page of the built web book in headless Chromium (what tests/test_browser.py checks).
browser: book
	$(PY) -m cnnbook.browser _build/html --screenshots _build/screenshots

# Wall time of every notebook of the toc, run in a scratch copy, into runtimes.md (a page of the book).
runtimes: $(STAMP)
	$(PY) -m cnnbook.runtimes --write runtimes.md

# Everything in DESIGN.md section 7, in one pytest run: unit and engine tests, notebook rules,
# the exercise sync check and the zero-warning book build (tests/), nbval strict on chapters/ and
# solutions/ (outputs must reproduce), and nbval-lax on the student copies in exercises/.
test: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --dist loadscope -rs tests chapters solutions exercises

unit: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --dist loadscope -rs tests

execute: $(STAMP)
	$(PY) -m cnnbook.notebooks execute $(or $(NB),$(NOTEBOOKS))
	$(PY) -m cnnbook.exercises

exercises: $(STAMP)
	$(PY) -m cnnbook.exercises

student: $(STAMP)
	$(PY) -m cnnbook.exercises --check
	$(PY) -m cnnbook.exercises --stage-student _build/student
	$(BOOK_BUILD) _build/student
	tar -czf _build/student-edition.tar.gz --exclude=_build -C _build student
	@echo "The student edition is in _build/student/_build/html/index.html;"
	@echo "_build/student-edition.tar.gz is what students need to run it (no solutions inside)."

grade: $(STAMP)
	$(PY) -m cnnbook.grade -j $(JOBS) $(or $(NB),exercises)

nbgrader: $(STAMP)
	$(PY) -m cnnbook.exercises --nbgrader $(or $(DIR),_build/nbgrader)

bench: $(STAMP)
	$(PY) bench/run.py

lock:
	rm -rf _build/lockenv
	$(PYTHON) -m venv _build/lockenv
	_build/lockenv/bin/pip install --disable-pip-version-check -q torch==2.13.0 -e ".[dev]"
	_build/lockenv/bin/pip freeze --all --exclude-editable | grep -v "^pip==" | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements.lock
	rm -rf _build/lockenv
	@echo "requirements.lock updated; review and commit it."

clean:
	rm -rf _build .pytest_cache .hypothesis
	find . -path ./.venv -prune -o -name __pycache__ -type d -print -exec rm -rf {} +
