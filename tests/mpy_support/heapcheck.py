"""MicroPython side of the allocation proofs (the ``mpy`` fixture puts this folder on the path).

``alloc_error(fn)`` runs ``fn()`` with the heap locked and returns the ``MemoryError`` it
raised, or None when it allocated nothing. ``fn`` takes no arguments: a call with ``*args``
allocates by itself, so wrap the call in a closure made before (``lambda: hot(k)``).
"""

import micropython


def alloc_error(fn):
    err = None
    micropython.heap_lock()
    try:
        fn()
    except MemoryError as e:
        err = e  # bind only: printing while locked would allocate
    finally:
        micropython.heap_unlock()
    return err
