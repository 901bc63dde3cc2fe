"""The harness that runs inside the sandbox and decides, not the exit status, that a program passed.

Protocol (see docs/design/sandbox.md): the evaluator writes one line with a fresh random nonce,
one line with the length (in characters) of the program's part before its tests, or "-", and
then the program's UTF-8 text on the harness's stdin. With a split, the part before and the
tests are compiled separately (a completion cannot swallow the tests into a string or skip
them) and run one after the other in the same namespace. The harness reads all of it before any
program code runs, reopens stdin on /dev/null, and runs the program with ``exec`` in a fresh
``__main__`` namespace. Only when ``exec`` returns normally (the test code at the end of the
program ran to its last statement) does the harness raise a private audit event from its own
frame; a second audit hook, which holds the nonce and nothing else, writes
``DONE_MARK + nonce`` as the last bytes of stdout. An early exit of any kind (``os._exit``,
``sys.exit``, signals, an ``atexit`` or ``excepthook`` trick) never reaches that point, so
the nonce is never written; the program text cannot know it.

A guard hook, installed first, refuses the introspection that would reach the nonce or skip
the tests: ``gc`` object walks, tracing (line jumps), other audit hooks, ``ctypes``, new code
objects. It is a speed bump, not the boundary (the bubblewrap layer is); the residual risks
are listed in the design note.
"""

from __future__ import annotations

START_MARK = b"\x1ePINGCE-START\n"
DONE_MARK = b"\n\x1ePINGCE-DONE "
EXC_MARK = b"\n\x1ePINGCE-EXC "

# Runs as `python -I -B -c HARNESS`; it must not import pingce. Every function the hooks and
# the final steps use is bound before the program's first line, so monkeypatching `os`, `sys`
# or `builtins` from the program changes nothing here.
HARNESS = r"""
import os, sys, traceback

def _pingce_guard(blocked, basename, str_, bytes_, type_):
    def guard(event, args):
        if event in blocked:
            if event == "sys.addaudithook":
                raise RuntimeError("sandbox: audit hooks are reserved")
            raise PermissionError("sandbox: " + event + " is not allowed")
        if event == "open" and args:
            path = args[0]
            if type_(path) is bytes_:
                path = path.decode("utf-8", "replace")
            if type_(path) is str_ and basename(path.rstrip("/")) in ("mem", "pagemap", "kcore"):
                raise PermissionError("sandbox: opening process memory is not allowed")
    return guard

def _pingce_vault(secret, home, getframe, write):
    box = [secret]
    def vault(event, args):
        if event == "pingce.done" and box and getframe(1) is home:
            write(1, box.pop())
    return vault

def _pingce_main():
    read, write, exit_, audit = os.read, os.write, os._exit, sys.audit
    chunks = []
    while True:
        chunk = read(0, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    data = b"".join(chunks)
    del chunks
    head, _, rest = data.partition(b"\n")
    split, _, text = rest.partition(b"\n")
    del data, rest
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    write(1, b"\x1ePINGCE-START\n")
    blocked = frozenset((
        "sys.settrace", "sys.setprofile", "sys._current_frames", "sys.addaudithook",
        "gc.get_objects", "gc.get_referrers", "gc.get_referents", "code.__new__",
        "ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.cdata",
        "ctypes.cdata/buffer", "ctypes.addressof", "ctypes.string_at", "ctypes.wstring_at",
        "ctypes.call_function", "ctypes.PyObj_FromPtr", "ctypes.set_errno",
    ))
    # The vault first: the guard, once in, refuses every later audit hook.
    sys.addaudithook(_pingce_vault(b"\n\x1ePINGCE-DONE " + head + b"\n", sys._getframe(),
                                   sys._getframe, write))
    sys.addaudithook(_pingce_guard(blocked, os.path.basename, str, bytes, type))
    del head
    source = text.decode("utf-8", "surrogatepass")
    del text
    print_exception, flush_out, flush_err = traceback.print_exception, sys.stdout.flush, sys.stderr.flush
    env = {"__name__": "__main__", "__file__": "/work/program.py", "__builtins__": __builtins__}
    try:
        try:
            with open("program.py", "w", encoding="utf-8", errors="replace") as fh:
                fh.write(source)  # for tracebacks with source lines
        except OSError:
            pass
        if split.isdigit():  # the tests after the completion: compiled and run on their own
            at = int(split)
            code = compile(source[:at], "program.py", "exec")
            tests = compile("\n" * source.count("\n", 0, at) + source[at:], "program.py", "exec")
        else:
            code = compile(source, "program.py", "exec")
            tests = compile("", "program.py", "exec")
        exec(code, env)
        exec(tests, env)
    except BaseException as exc:
        name = type(exc).__name__
        try:
            print_exception(exc)
        except BaseException:
            pass
        try:
            flush_out()
            flush_err()
        except BaseException:
            pass
        write(2, b"\n\x1ePINGCE-EXC " + name.encode("ascii", "replace") + b"\n")
        exit_(1)
    try:
        flush_out()
        flush_err()
    except BaseException:
        pass
    audit("pingce.done")
    exit_(0)

_pingce_main()
"""
