"""A function's init with the garbage collector off: every handler module imports this module first and calls
`init_done()` as its last statement.

An init builds a few hundred thousand objects (boto3, pydantic, Powertools, our models) that live as long as
the container. With the collector on, it walks them again and again as they pile up, finds nothing to free, and
adds some 20-60 ms to every cold start (`make bench`). `init_done()` freezes them out of every later collection,
so the collections a request triggers walk only what requests make."""

import gc

gc.disable()


def init_done() -> None:
    gc.freeze()
    gc.enable()
