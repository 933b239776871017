# libFuzzer targets: every tests/fuzz/fuzz_NAME.c becomes $(BUILD)/fuzz/fuzz_NAME,
# linked against the library sources rebuilt by clang with
# -fsanitize=fuzzer-no-link,address,undefined (into $(BUILD)/fuzz/obj/).
# A seed corpus comes from tests/fuzz/corpus-NAME.sh when there is one
# (called from the top directory with the corpus folder, the sparse_pack
# tool and the target itself, which writes its own seeds when run with
# FUZZ_WRITE_SEEDS=DIR: tests/fuzz/fuzz_util.h), into
# $(BUILD)/fuzz/corpus/NAME/; what the fuzzer finds on top goes to
# $(BUILD)/fuzz/grown/NAME/, crashes to $(BUILD)/fuzz/artifacts/. A
# dictionary tests/fuzz/NAME.dict is used when there is one. Targets
# that need files (qcow2's backing chains) make them under
# $(FUZZ_TMPDIR)/vmm-fuzz-PID/ and remove them.
#   make fuzz FUZZ_TIME=60    each target for FUZZ_TIME seconds
#   make fuzz-smoke           each target for FUZZ_SMOKE_TIME seconds;
#                             fails if any crashes
#   make fuzz FUZZ_ONLY="grubcfg bls"   only those targets
FUZZ_CC         ?= clang
FUZZ_TIME       ?= 60
FUZZ_SMOKE_TIME ?= 3
FUZZ_TMPDIR     ?= /tmp
FUZZ_SAN        := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# the project is C11 with GNU extensions: clang need not point them out;
# libseccomp's SCMP_A0() leaves fields to their zero default, which clang
# (not gcc) warns about
FUZZ_CFLAGS     := -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter \
                   -Wno-gnu-variable-sized-type-not-at-end -Wno-missing-field-initializers \
                   -D_GNU_SOURCE -I.
FUZZ_OBJS       := $(LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_SRCS       := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES      := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_BINS       := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_CORPORA    := $(FUZZ_NAMES:%=$(BUILD)/fuzz/corpus/%/.stamp)
FUZZ_ONLY       ?= $(FUZZ_NAMES)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC FUZZ $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(BUILD)/fuzz/libvmm-fuzz.a: $(FUZZ_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libvmm-fuzz.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< \
		$(BUILD)/fuzz/libvmm-fuzz.a $(LDLIBS)

$(BUILD)/fuzz/sparse_pack: tests/fuzz/sparse_pack.c tests/fuzz/fuzz_image.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $<

# The target is order-only: rebuilding it does not remake the seeds.
$(BUILD)/fuzz/corpus/%/.stamp: $(BUILD)/fuzz/sparse_pack $(wildcard tests/fuzz/corpus-*.sh) \
		| $(BUILD)/fuzz/fuzz_%
	@mkdir -p $(dir $@)
	$(Q)if [ -f tests/fuzz/corpus-$*.sh ]; then \
		sh tests/fuzz/corpus-$*.sh $(dir $@) $(BUILD)/fuzz/sparse_pack \
			$(BUILD)/fuzz/fuzz_$*; fi
	@touch $@

# Run each target in turn; a crash stops make with the fuzzer's report.
# One line per target: executions, exec/s, seconds and libFuzzer's last
# cov:/ft: figures.
define fuzz_run
	@mkdir -p $(BUILD)/fuzz/artifacts
	$(Q)for t in $(FUZZ_ONLY); do \
		mkdir -p $(BUILD)/fuzz/grown/$$t; \
		dict=; [ ! -f tests/fuzz/$$t.dict ] || dict=-dict=tests/fuzz/$$t.dict; \
		echo "  FUZZ    $$t for $(1) s"; \
		TMPDIR=$(FUZZ_TMPDIR) $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(1) \
			-print_final_stats=1 -rss_limit_mb=4096 -timeout=20 $$dict \
			-artifact_prefix=$(BUILD)/fuzz/artifacts/$$t- \
			$(BUILD)/fuzz/grown/$$t $(BUILD)/fuzz/corpus/$$t \
			2> $(BUILD)/fuzz/$$t.log || { tail -n 60 $(BUILD)/fuzz/$$t.log; exit 1; }; \
		awk -v t=$$t '/^#[0-9]+/ { last = $$0 } \
			/^stat::number_of_executed_units/ { n = $$2 } \
			/^stat::average_exec_per_sec/ { r = $$2 } \
			/^Done [0-9]+ runs in/ { s = $$5 } \
			END { match(last, /cov: [0-9]+ ft: [0-9]+/); \
				printf "  %-12s %12s runs %8s exec/s %6s s  %s\n", t, n, r, s, \
					substr(last, RSTART, RLENGTH) }' $(BUILD)/fuzz/$$t.log; \
	done
endef

fuzz-build: $(FUZZ_BINS) $(FUZZ_CORPORA)

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_TIME))

fuzz-smoke: fuzz-build
	$(call fuzz_run,$(FUZZ_SMOKE_TIME))

.PHONY: fuzz fuzz-build fuzz-smoke
.PRECIOUS: $(BUILD)/fuzz/corpus/%/.stamp
