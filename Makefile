# osprey — the two commands a newcomer needs are `make run` and `make test`; `make help` lists the rest.

GO          ?= go
BIN         := bin/osprey
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.6.1
FUZZTIME    ?= 10s
TESTFLAGS   ?=
# apt packages the tests use: ffmpeg/ffprobe check the simulated camera's H.264 and the relay's output;
# chromium plays WHEP streams and drives the browser app (playwright-core from e2e/, never its own browser).
APT_PACKAGES := ffmpeg chromium

.PHONY: help build run test test-deps bench lint fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/osprey
	$(GO) build -o $(BIN) ./cmd/osprey

run: build ## run the demo: a simulated fleet through the link manager
	./$(BIN) demo

test-deps: ## install what the tests need (apt packages), if missing
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@if [ ! -d e2e/node_modules/playwright-core ] || [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then \
		echo "installing e2e/ npm packages"; \
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix e2e --no-audit --no-fund --loglevel=error; \
	fi

test: test-deps ## run every test under the race detector
	$(GO) test -race -count=1 -timeout 20m $(TESTFLAGS) ./...

bench: build ## print performance figures (asserts nothing about time)
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...
	./$(BIN) bench telemetry --vehicles 100,500,1000
	./$(BIN) bench ws --vehicles 200 --clients 1,10,50
	./$(BIN) bench video --viewers 1,50,100,200,300
	./$(BIN) bench video --viewers 50,200 --join-interval 100ms

lint: ## gofmt, go vet, staticcheck (pinned)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fuzz: ## run each fuzz target for FUZZTIME (default 10s)
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

clean: ## remove build output
	rm -rf bin
