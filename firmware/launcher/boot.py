# hipsense boot.py (flash root): the first file MicroPython runs. It only holds the power on
# (M5StickC Plus2: GPIO4 high, or the stick switches off within about 100 ms of power-on)
# with hold=True, which latches the pad through machine.reset() and watchdog resets.
# Nothing else is imported here: the app comes later, from main.py (docs/firmware.md).
try:
    import json

    import machine

    with open("board.json") as f:
        _hold = json.load(f).get("power_hold")
    if _hold:
        machine.Pin(
            _hold["pin"],
            machine.Pin.OUT,
            value=_hold.get("value", 1),
            hold=True,  # pyright: ignore[reportCallIssue]  (ESP32 port; missing in the stubs)
        )
except Exception as e:  # no or bad board.json: nothing to hold; the app reports the profile
    print("boot.py:", e)
