# hotline — build, run, test, bench, fuzz.
#
#   make            build hotlined and hotlinectl into build/
#   make run        install what is missing, start redis + hotlined locally
#   make test       install what is missing, build, run every test
#   make bench      the load benchmark (tests/bench)
#   make bench-cost instructions and syscalls per request, counted
#   make fuzz       libFuzzer targets for a bounded time (tests/fuzz)
#   make valgrind   the engine's unit tests under valgrind memcheck (no leak)
#   WERROR=1        turn warnings into errors (CI)
#   SANITIZE=address,undefined   the same tree instrumented, in build/san/

CC       ?= cc
PKG      ?= pkg-config
PKGS      = libevent libevent_openssl hiredis libconfig libcurl jansson libcrypto
OPT      ?= -O2
WARN      = -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wmissing-prototypes \
            -Wwrite-strings -Wshadow
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) -Imenus -Icore -Istaff -Igateway -Ictl
ifeq ($(WERROR),1)
CFLAGS   += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
# Request records are reused without being cleared whole (session.c):
# here each is filled with a poison byte first, so a field read before
# it is written shows in the tests instead of holding an old request's.
CFLAGS   += -DHOTLINE_POISON_REQUESTS
LDFLAGS  += -fsanitize=$(SANITIZE)
B        ?= build/san
else
B        ?= build
endif

PKG_CFLAGS = $(shell $(PKG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG) --libs $(PKGS) 2>/dev/null)

# menus/: the pure engine library (menu_*.c); ctl/: the CLI (hotlinectl*.c)
MENU_SRC  = $(wildcard menus/menu_*.c)
CTL_SRC   = $(wildcard ctl/hotlinectl*.c)
# core/ (plumbing), staff/ (alerts, cases, API) and gateway/ (the daemon)
# but main.c go into one library the daemon, the CLI and the tests link
GW_SRC    = $(wildcard core/*.c) $(wildcard staff/*.c) \
            $(filter-out gateway/main.c,$(wildcard gateway/*.c))
UNIT_SRC  = $(wildcard tests/unit/test_*.c)

MENU_OBJ  = $(MENU_SRC:%.c=$(B)/%.o)
CTL_OBJ   = $(CTL_SRC:%.c=$(B)/%.o)
GW_OBJ    = $(GW_SRC:%.c=$(B)/%.o)
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

all: $(B)/hotlined $(B)/hotlinectl

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/libmenu.a: $(MENU_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libgw.a: $(GW_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/hotlined: $(B)/gateway/main.o $(B)/libgw.a $(B)/libmenu.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(B)/hotlinectl: $(CTL_OBJ) $(B)/libgw.a $(B)/libmenu.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(B)/tests/%: tests/unit/%.c $(B)/libgw.a $(B)/libmenu.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(shell $(PKG) --cflags cmocka) -Itests/unit \
	  $(LDFLAGS) -o $@ $< $(B)/libgw.a $(B)/libmenu.a $(PKG_LIBS) \
	  $(shell $(PKG) --libs cmocka) -lm

build-tests: all $(UNIT_BIN)

# ---- the two commands -----------------------------------------------------
deps:
	@sh deploy/install-deps.sh test

run:
	@sh deploy/install-deps.sh run
	@$(MAKE) --no-print-directory all
	@sh deploy/run-local.sh $(B)

test: deps
	@$(MAKE) --no-print-directory build-tests
	@B=$(B) sh tests/run.sh

test-unit: build-tests
	@B=$(B) sh tests/run.sh unit

test-integration: build-tests
	@B=$(B) sh tests/run.sh integration

test-faults: deps
	@$(MAKE) --no-print-directory build-tests
	@B=$(B) FAULTS=full sh tests/run.sh faults

bench:
	@sh deploy/install-deps.sh bench
	@$(MAKE) --no-print-directory all
	@B=$(B) sh tests/bench/run.sh

# What a request costs hotlined, counted (instructions, syscalls): see
# tests/bench/cost.py (BINS="old=PATH new=PATH" compares builds).
bench-cost:
	@sh deploy/install-deps.sh bench
	@$(MAKE) --no-print-directory all
	@B=$(B) python3 tests/bench/cost.py $(BINS)

fuzz:
	@sh deploy/install-deps.sh fuzz
	@B=$(B) sh tests/fuzz/run.sh

# The pure engine under memcheck: any error or leak fails.
ENGINE_TESTS = $(filter $(B)/tests/test_menu_%,$(UNIT_BIN))
valgrind: deps build-tests
	@for t in $(ENGINE_TESTS); do \
	  echo "== valgrind: $$t"; \
	  valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=1 $$t \
	    || exit 1; \
	done

clean:
	rm -rf build

.PHONY: all deps run test test-unit test-integration test-faults bench bench-cost fuzz valgrind clean build-tests

-include $(shell find $(B) -name '*.d' 2>/dev/null)
