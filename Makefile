# The design's operator commands (persistent-storage-design.md, "Storage
# Management Commands"). Each takes the options of its --help through ARGS:
#   make storage-status ARGS="--namespace shop --kubeconfig ~/.kube/prod"
ARGS ?=

.PHONY: storage-status storage-monitor test-persistence backup-db restore-db conformance test

storage-status:
	@bash scripts/run.sh tool storage-status $(ARGS)

storage-monitor:
	@bash scripts/run.sh tool storage-monitor $(ARGS)

test-persistence:
	@bash scripts/run.sh tool test-persistence $(ARGS)

backup-db:
	@bash scripts/run.sh tool backup-db $(ARGS)

restore-db:
	@bash scripts/run.sh tool restore-db $(ARGS)

conformance:
	@bash scripts/run.sh conformance $(ARGS)

test:
	@bash scripts/run.sh test $(ARGS)
