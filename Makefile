# The two commands in the README: `make run` and `make test`. Both set everything up from nothing;
# a second run skips what is already installed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
export HF_HUB_OFFLINE := 1

.PHONY: run test test-fast lint format install peers browser formats-tools fonts clean

run: $(STAMP)
	$(PY) app.py

test: $(STAMP) browser formats-tools fonts
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

install: $(STAMP)

# torch first, pinned: its CPU build. Unpinned, pip would pull a multi-GB CUDA build.
# The test extra brings milvus==2.3.5: a real Milvus server binary the Milvus tests start (see pyproject.toml).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,milvus,mcp,langchain,multilingual]'
	rm -f $(VENV)/.installed-*
	touch $@

# Haystack and LlamaIndex for `benchmarks/quality.py --peers`, in a venv of their own so the product's
# dependencies stay clean; torch first, pinned, as above.
PEERS_VENV  := benchmarks/.peers-venv
PEERS_STAMP := $(PEERS_VENV)/.installed-$(shell sha1sum benchmarks/peers-requirements.txt | cut -c1-12)
peers: $(PEERS_STAMP)

$(PEERS_STAMP): benchmarks/peers-requirements.txt
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(PEERS_VENV)/bin/python -m pip install --quiet -r benchmarks/peers-requirements.txt
	rm -f $(PEERS_VENV)/.installed-*
	touch $@

# Debian's chromium for the browser tests; Playwright is told to use it and never downloads one.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "The UI tests need Debian's chromium: sudo apt-get install -y chromium" >&2; exit 1; fi

# The format tests make real PDF, Word and HTML files: pandoc, LibreOffice Writer (and an English
# hyphenation dictionary), poppler's pdftoppm and img2pdf (a scan without a text layer); libtasn1-doc ships
# a real pdfTeX manual (outline, page labels) that the tests and benchmarks/ingest_formats.py read; bzip2-doc
# another without an outline, zlib1g-dev a paper (no outline) and shared-mime-info a specification (outline),
# for the page questions of benchmarks/pdf_pages.py.
FORMAT_TOOLS := pandoc soffice pdftoppm img2pdf
formats-tools:
	@if [ -z "$$(for t in $(FORMAT_TOOLS); do command -v $$t >/dev/null || echo $$t; done)" ] && [ -e /usr/share/hyphen/hyph_en_US.dic ] && [ -e /usr/share/doc/libtasn1-doc/libtasn1.pdf ] && [ -e /usr/share/doc/bzip2/manual.pdf.gz ] && [ -e /usr/share/doc/zlib1g-dev/crc-doc.1.0.pdf.gz ] && [ -e /usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		pandoc libreoffice-writer-nogui hyphen-en-us poppler-utils img2pdf fonts-dejavu-core libtasn1-doc bzip2-doc zlib1g-dev shared-mime-info >/dev/null; \
	else echo "The format tests need: sudo apt-get install -y --no-install-recommends pandoc libreoffice-writer-nogui hyphen-en-us poppler-utils img2pdf fonts-dejavu-core libtasn1-doc bzip2-doc zlib1g-dev shared-mime-info" >&2; exit 1; fi

# A CJK font, so the browser draws the Chinese examples and answers (and screenshots show real glyphs).
fonts:
	@if dpkg -s fonts-noto-cjk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; \
	else echo "The UI tests need a CJK font: sudo apt-get install -y fonts-noto-cjk" >&2; exit 1; fi

clean:
	rm -rf $(VENV) $(PEERS_VENV) index/*/ index/.*.lock reports tests/artifacts
