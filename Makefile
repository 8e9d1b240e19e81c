# backprop.h - build the examples, run the tests.
#   make            build the examples and the test runner
#   make run        train the OCR example on the bundled digits (the first thing to try)
#   make commands   train the spoken-command recognizer (a GRU) on the bundled data and run
#                   it on the bundled stream of words (about 35 s)
#   make test       the checks that matter after a change, in about 2.5 minutes on 2 cores:
#                   compile tests, the reference path, unit tests, the same under
#                   ASan+UBSan, the examples end to end (checkpoints killed and resumed)
#   make test-all   make test and the long stages: the whole compiler matrix, OpenMP, CBLAS,
#                   install and consumers, embedded (QEMU), MPI, cross (aarch64, s390x,
#                   Windows); what CI runs. Either one: a line per stage, logs in build/logs,
#                   V=1 for the whole logs, JOBS=N stages at a time (default: the cores)
#   make bench      throughput against FANN, PyTorch and the OpenBLAS ceiling (REPS=5)
#   make bench-ab   this tree's backprop.h against BASE's (a git revision), row by row
#   make map        renumber the map of backprop.h's parts after an edit (make test checks it)
#   make install    backprop.h, backprop.pc and the CMake package under $(DESTDIR)$(PREFIX)
#   make uninstall  removes them again
#   make embedded   cross-compile a small trainer for a Cortex-M4 and print its size
#   make mpi        the data-parallel OCR example (needs Open MPI's mpicc)
#   make fuzz       fuzz the model reader for FUZZ_SECONDS (60) with libFuzzer
#   make clean
# CC, CXX, CFLAGS, LDFLAGS may be overridden: make CC=clang CFLAGS=-O3

CC      ?= cc
CXX     ?= c++
CFLAGS  ?= -O2 -g
# make OPENMP=1: threads in the batched products (the default build stays single-threaded)
ifeq ($(OPENMP),1)
CFLAGS  += -fopenmp
endif
STRICT  := -std=c99 -Wall -Wextra -Wpedantic -Werror
# Extra warnings the header itself is clean under (firmware users turn these on).
PICKY   := -Wshadow -Wstrict-prototypes -Wconversion -Wdouble-promotion -Wcast-qual
POSIX   := -D_POSIX_C_SOURCE=200809L
B       := build

# The sanitizer build prefers clang, then gcc.
SAN_CC  ?= $(shell command -v clang >/dev/null 2>&1 && echo clang || echo gcc)
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g

EXAMPLES := $(B)/xor $(B)/ocr $(B)/recurrent $(B)/bp2c $(B)/order $(B)/commands
HEADERS  := backprop.h

.PHONY: all map run commands bench bench-ab install uninstall embedded mpi test-cross test-consumers test-embedded test-mpi test test-all test-compile test-reference test-compile-rest test-unit test-openmp test-cblas test-sanitize test-examples fuzz clean

all: $(EXAMPLES) $(B)/test_backprop $(B)/test_examples $(B)/test_checkpoint $(B)/test_seq

$(B):
	@mkdir -p $(B)

$(B)/xor: examples/xor.c $(HEADERS) | $(B)
	$(CC) $(STRICT) $(CFLAGS) -o $@ examples/xor.c $(LDFLAGS) -lm

$(B)/ocr: examples/ocr.c examples/digits.h $(HEADERS) | $(B)
	$(CC) $(STRICT) $(POSIX) $(CFLAGS) -DOCR_DATA_DIR='"$(CURDIR)/data"' -o $@ examples/ocr.c $(LDFLAGS) -lm

$(B)/recurrent: examples/recurrent.c examples/digits.h $(HEADERS) | $(B)
	$(CC) $(STRICT) $(POSIX) $(CFLAGS) -DOCR_DATA_DIR='"$(CURDIR)/data"' -o $@ examples/recurrent.c $(LDFLAGS) -lm

$(B)/order: examples/order.c $(HEADERS) | $(B)
	$(CC) $(STRICT) $(CFLAGS) -o $@ examples/order.c $(LDFLAGS) -lm

$(B)/commands: examples/commands.c examples/speech.h examples/digits.h $(HEADERS) | $(B)
	$(CC) $(STRICT) $(POSIX) $(CFLAGS) -DCOMMANDS_DATA_DIR='"$(CURDIR)/data"' -o $@ examples/commands.c $(LDFLAGS) -lm

commands: $(B)/commands
	./$(B)/commands --save $(B)/commands.bpseq --stream data/commands-stream.wav --marks data/commands-stream.txt

$(B)/bp2c: examples/bp2c.c examples/digits.h $(HEADERS) | $(B)
	$(CC) $(STRICT) $(POSIX) $(CFLAGS) -o $@ examples/bp2c.c $(LDFLAGS) -lm

run: $(B)/ocr
	./$(B)/ocr

# renumbers the map at the top of backprop.h's implementation (the parts' lines), then checks it
map:
	@sh tests/map.sh --write

$(B)/test_backprop: tests/test_backprop.c $(wildcard tests/part*.c) tests/test.h $(HEADERS) | $(B)
	$(CC) $(STRICT) $(POSIX) $(CFLAGS) -o $@ tests/test_backprop.c $(LDFLAGS) -lm -pthread

$(B)/test_examples: tests/test_examples.c tests/test.h examples/digits.h examples/speech.h $(HEADERS) | $(B)
	$(CC) $(STRICT) $(POSIX) $(CFLAGS) -o $@ tests/test_examples.c $(LDFLAGS) -lm

$(B)/test_checkpoint: tests/test_checkpoint.c tests/test.h $(HEADERS) | $(B)
	$(CC) $(STRICT) $(POSIX) $(CFLAGS) -o $@ tests/test_checkpoint.c $(LDFLAGS) -lm

$(B)/test_seq: tests/test_seq.c tests/test.h $(HEADERS) | $(B)
	$(CC) $(STRICT) $(POSIX) $(CFLAGS) -o $@ tests/test_seq.c $(LDFLAGS) -lm

# The stages, longest first (the runner starts them in this order, as many at once as cores)
QUICK := test-reference test-sanitize test-examples test-compile test-unit
LONG  := test-compile-rest test-cross test-embedded test-openmp test-mpi test-consumers test-cblas

test:
	@MAKE="$(MAKE)" sh tests/run.sh "make test" $(QUICK)

test-all:
	@MAKE="$(MAKE)" sh tests/run.sh "make test-all" test-compile-rest $(QUICK) $(filter-out test-compile-rest,$(LONG))

test-compile: | $(B)
	@sh tests/compile.sh quick "$(CC)" "$(CXX)"

test-reference: | $(B)
	@sh tests/compile.sh reference "$(CC)" "$(CXX)"

test-compile-rest: | $(B)
	@sh tests/compile.sh rest "$(CC)" "$(CXX)"

# The unit tests for aarch64 and s390x (big-endian) under qemu-user, and for Windows under wine
test-cross: | $(B)
	@sh tests/cross.sh

test-unit: $(B)/test_backprop $(B)/test_examples $(B)/test_checkpoint $(B)/test_seq
	@sh tests/map.sh
	./$(B)/test_backprop
	./$(B)/test_examples
	./$(B)/test_checkpoint
	./$(B)/test_seq

# The unit tests again with OpenMP, which checks that results do not depend on the thread count;
# and once more under ASan + UBSan on 3 threads (the training step's team shares the buffers).
test-openmp: | $(B)
	@if $(CC) -fopenmp -x c /dev/null -c -o /dev/null 2>/dev/null; then \
	    $(CC) $(STRICT) $(POSIX) -O2 -fopenmp -o $(B)/test_backprop_omp tests/test_backprop.c -lm -pthread && \
	    ./$(B)/test_backprop_omp && \
	    $(CC) $(STRICT) $(POSIX) $(SAN) -fopenmp -o $(B)/test_backprop_omp_san tests/test_backprop.c -lm -pthread && \
	    OMP_NUM_THREADS=3 ./$(B)/test_backprop_omp_san; \
	else echo "skip OpenMP tests: $(CC) has no -fopenmp (gcc has it; clang needs libomp-dev)"; fi

# The unit tests again with BP_CBLAS against OpenBLAS, where it is installed.
test-cblas: | $(B)
	@if printf '#include <cblas.h>\nint main(void){return 0;}\n' | $(CC) -x c - -o /dev/null -lopenblas 2>/dev/null; then \
	    $(CC) $(STRICT) $(POSIX) -O2 -DBP_CBLAS -o $(B)/test_backprop_cblas tests/test_backprop.c -lopenblas -lm -pthread && \
	    OPENBLAS_NUM_THREADS=1 ./$(B)/test_backprop_cblas; \
	else echo "skip CBLAS tests: no <cblas.h> with -lopenblas (apt-get install libopenblas-dev)"; fi

test-sanitize: | $(B)
	$(SAN_CC) $(STRICT) $(POSIX) $(SAN) -o $(B)/test_backprop_san tests/test_backprop.c -lm -pthread
	$(SAN_CC) $(STRICT) $(POSIX) $(SAN) -o $(B)/test_examples_san tests/test_examples.c -lm
	$(SAN_CC) $(STRICT) $(POSIX) $(SAN) -o $(B)/test_checkpoint_san tests/test_checkpoint.c -lm
	$(SAN_CC) $(STRICT) $(POSIX) $(SAN) -o $(B)/test_seq_san tests/test_seq.c -lm
	./$(B)/test_backprop_san
	./$(B)/test_examples_san
	./$(B)/test_checkpoint_san
	./$(B)/test_seq_san

test-examples: $(EXAMPLES)
	@sh tests/examples.sh $(B)
	@sh tests/checkpoint.sh $(B)

# --- installing: the header, a pkg-config file, a CMake package (find_package(backprop)) ---
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^\#define BACKPROP_VERSION_STRING "\(.*\)"/\1/p' backprop.h)
INCDIR  := $(DESTDIR)$(PREFIX)/include
PCDIR   := $(DESTDIR)$(PREFIX)/share/pkgconfig
CMKDIR  := $(DESTDIR)$(PREFIX)/share/cmake/backprop

install:
	install -d $(INCDIR) $(PCDIR) $(CMKDIR)
	install -m 644 backprop.h $(INCDIR)/backprop.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' cmake/backprop.pc.in > $(PCDIR)/backprop.pc
	install -m 644 cmake/backpropConfig.cmake $(CMKDIR)/backpropConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|' cmake/backpropConfigVersion.cmake.in > $(CMKDIR)/backpropConfigVersion.cmake

uninstall:
	rm -f $(INCDIR)/backprop.h $(PCDIR)/backprop.pc $(CMKDIR)/backpropConfig.cmake $(CMKDIR)/backpropConfigVersion.cmake
	-rmdir $(CMKDIR) 2>/dev/null

# Install into a scratch DESTDIR and build a consumer through pkg-config, CMake find_package and
# CMake add_subdirectory; check that the three versions agree with the header's.
test-consumers:
	@sh tests/consumers.sh

# --- embedded: a Cortex-M4 (hard float) build of a small trainer, with warnings as errors ---
ARM_CC    ?= arm-none-eabi-gcc
ARM_FLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -ffreestanding \
             -std=c99 -Wall -Wextra -Wpedantic -Werror -Wdouble-promotion -ffunction-sections -fdata-sections

embedded: $(B)/ocr $(B)/bp2c $(B)/commands | $(B)
	@sh tests/embedded.sh "$(ARM_CC)" "$(ARM_FLAGS)"

test-embedded: $(B)/ocr $(B)/bp2c $(B)/commands | $(B)
	@if command -v $(ARM_CC) >/dev/null 2>&1; then sh tests/embedded.sh "$(ARM_CC)" "$(ARM_FLAGS)"; \
	else echo "skip embedded test: $(ARM_CC) is not installed (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"; fi

# --- MPI: the data-parallel example; the library itself stays free of MPI ---
MPICC ?= mpicc
mpi: | $(B)
	@if command -v $(MPICC) >/dev/null 2>&1; then \
	    echo "$(MPICC) ... -o $(B)/mpi_ocr examples/mpi_ocr.c"; \
	    $(MPICC) $(STRICT) $(POSIX) $(CFLAGS) -DOCR_DATA_DIR='"$(CURDIR)/data"' -o $(B)/mpi_ocr examples/mpi_ocr.c -lm; \
	else echo "make mpi needs Open MPI's mpicc: apt-get install libopenmpi-dev openmpi-bin"; exit 1; fi

# 1 rank and 2 ranks from the same start and global batches end with the same parameters,
# up to float summation order; then a full 2-rank training run.
test-mpi: | $(B)
	@if command -v $(MPICC) >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1; then \
	    $(MAKE) -s mpi && sh tests/mpi.sh $(B); \
	else echo "skip MPI tests: needs mpicc and mpirun (apt-get install libopenmpi-dev openmpi-bin)"; fi

# this tree's backprop.h against BASE's (a git revision, default HEAD), row by row: make bench-ab BASE=1cbe006
bench-ab:
	@bash bench/ab.sh

# Throughput against the peers (never part of make test): see bench/run.sh and BENCHMARKS.md.
bench:
	REPS=$(or $(REPS),5) bash bench/run.sh

# Fuzz the model reader (libFuzzer; needs clang). FUZZ_SECONDS=600 make fuzz for a longer run.
# New inputs it finds go to build/fuzz_corpus, seeded from tests/fuzz_corpus.
FUZZ_SECONDS ?= 60
fuzz: | $(B)
	clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $(B)/fuzz_load tests/fuzz_load.c -lm
	mkdir -p $(B)/fuzz_corpus && cp tests/fuzz_corpus/* $(B)/fuzz_corpus/
	./$(B)/fuzz_load -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(B)/fuzz_corpus

clean:
	rm -rf $(B)
