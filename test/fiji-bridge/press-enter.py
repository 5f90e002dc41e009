# Runs a command on the X display $DISPLAY and presses Enter there once a second (X test extension, through
# ctypes: libX11 and libXtst come with the Java runtime) until the file `until` exists or the command ends:
# the "user" who clicks OK in ImageJ's dialogs for the interactive test. Usage: press-enter.py UNTIL CMD...
import ctypes
import os
import subprocess
import sys
import time

XK_RETURN = 0xFF0D


def main() -> int:
    until, cmd = sys.argv[1], sys.argv[2:]
    x11 = ctypes.CDLL("libX11.so.6")
    xtst = ctypes.CDLL("libXtst.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XKeysymToKeycode.restype = ctypes.c_ubyte
    x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
    display = x11.XOpenDisplay(None)
    if not display:
        print("press-enter: cannot open display", os.environ.get("DISPLAY"), file=sys.stderr)
        return 2
    key = x11.XKeysymToKeycode(display, XK_RETURN)
    child = subprocess.Popen(cmd)
    while child.poll() is None and not os.path.exists(until):
        time.sleep(1)
        xtst.XTestFakeKeyEvent(display, key, 1, 0)
        xtst.XTestFakeKeyEvent(display, key, 0, 0)
        x11.XFlush(display)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
