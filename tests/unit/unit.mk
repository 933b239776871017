# Unit tests: cmocka, every library object rebuilt with ASan + UBSan.
# Each tests/unit/test_*.c becomes one program linked against libvmm-san.a.
SAN_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/san/%.o)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC SAN  $<")
	$(Q)$(CC) $(CFLAGS) $(SAN) -O1 -c -o $@ $<

$(BUILD)/libvmm-san.a: $(SAN_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/libvmm-san.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(SAN) -O1 -o $@ $< $(BUILD)/libvmm-san.a -lcmocka $(LDLIBS)

unit: $(UNIT_BINS)
	@tests/unit/lint-paths.sh
	@tests/unit/run.sh $(UNIT_BINS)

.PHONY: unit
