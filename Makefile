# sluice: PGXS build.  `make && make install` builds and installs the extension;
# `make test` runs every test in a throwaway cluster; `make demo` runs the example pipeline.

EXTENSION    = sluice
MODULE_big   = sluice
SRCS         = $(sort $(wildcard src/*.c src/*/*.c))
OBJS         = $(SRCS:.c=.o)
DATA         = $(wildcard sql/sluice--*.sql)
REGRESS      = $(sort $(basename $(notdir $(filter-out sql/sluice--%,$(wildcard sql/*.sql)))))
REGRESS_OPTS = --inputdir=. --load-extension=sluice

PG_CPPFLAGS  = -I$(srcdir)/src -Wall -Wextra -Werror \
               -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK   = -lcurl -ljansson

# Rebuild objects when a header they include changes.
override autodepend = yes

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.PHONY: test demo bench deps
deps:
	scripts/install-deps
test:
	scripts/test
demo:
	scripts/demo
bench:
	@for b in bench/*/run; do echo "== $$b"; $$b || exit 1; done
