# skbscope: `make run` to try it, `make test` before pushing.
# Works on a fresh Debian machine with Go: what else it needs, it installs
# with apt (as root, or through sudo).

GO      ?= go
ADDR    ?= 127.0.0.1:8080
BROTLI_Q ?= 11
# How app.wasm is built (the tests read this line, and build the budgets'
# hello world with it too). -l: no inlining in skbscope's own packages:
# go-app's element builder chains and the like are not copied into every
# call site (BENCHMARKS.md, "app.wasm size").
WASM_FLAGS := -trimpath -gcflags=skbscope/...=-l
WASM    := static/web/app.wasm
SERVER  := bin/skbscope
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT     := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: run test bench wasm server deps test-deps clean fuzz static

run: wasm server
	./$(SERVER) serve -addr $(ADDR)

server:
	$(GO) build -o $(SERVER) ./server

# A static copy of the site in dist/, for any static web host under any
# path (every link in it is relative).
static: wasm server
	rm -rf dist
	./$(SERVER) static -o dist

# The wasm is replaced only when its bytes change, so the compressed copies
# (brotli -q 11 takes a while) are redone only when needed. The page
# fetches the explanations (web/explain) beside it: `server explain`
# writes them, with their compressed copies.
wasm: deps
	GOOS=js GOARCH=wasm $(GO) build $(WASM_FLAGS) -o $(WASM).new ./wasm
	@if cmp -s $(WASM).new $(WASM); then rm $(WASM).new; else mv $(WASM).new $(WASM); fi
	@[ $(WASM).br -nt $(WASM) ] || { echo "brotli -q $(BROTLI_Q) $(WASM)"; brotli -f -n -q $(BROTLI_Q) -o $(WASM).br $(WASM); }
	@[ $(WASM).gz -nt $(WASM) ] || { echo "gzip -9 $(WASM)"; gzip -9 -c $(WASM) > $(WASM).gz; }
	$(GO) run ./server explain -static static

deps:
	@command -v brotli >/dev/null || { $(APT) update && $(APT) install -y brotli; }

# The browser test drives Debian's Chromium (with a Chinese font, for the
# screenshots of the zh-Hans and zh-Hant pages); the wasm tests run under node;
# the bridge's interop tests need ip(8), curl and python3 in a namespace;
# Wireshark's tshark judges every lesson's pcap.
test-deps: deps
	@command -v chromium >/dev/null || { $(APT) update && $(APT) install -y chromium; }
	@[ -n "$$(fc-list :lang=zh 2>/dev/null)" ] || { $(APT) update && $(APT) install -y fonts-wqy-microhei; }
	@command -v tshark >/dev/null || { $(APT) update && $(APT) install -y tshark; }
	@command -v node >/dev/null || { $(APT) update && $(APT) install -y nodejs; }
	@command -v ip >/dev/null || { $(APT) update && $(APT) install -y iproute2; }
	@command -v curl >/dev/null || { $(APT) update && $(APT) install -y curl; }
	@command -v python3 >/dev/null || { $(APT) update && $(APT) install -y python3; }

test: test-deps wasm
	$(GO) vet ./...
	$(GO) test ./...
	PATH="$$($(GO) env GOROOT)/lib/wasm:$$PATH" GOOS=js GOARCH=wasm $(GO) test ./stack/... ./scenario/...
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)

# Every fuzz target, briefly; `make fuzz FUZZTIME=10m` to dig deeper.
FUZZTIME ?= 4s
fuzz:
	@set -e; for pkg in $$($(GO) list ./stack/... ./scenario/... ./web/...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null; \
	  done; \
	done

bench: test-deps wasm
	$(GO) test -run '^$$' -bench . ./...
	@echo "app.wasm: $$(stat -c %s $(WASM)) bytes raw, $$(stat -c %s $(WASM).br) brotli -q $(BROTLI_Q), $$(stat -c %s $(WASM).gz) gzip -9"

clean:
	rm -rf bin $(WASM) $(WASM).br $(WASM).gz $(WASM).new static/web/explain
