"""Flashing MicroPython and deploying the hipsense firmware onto a board (``hipsense flash``).

One module per job: ``ports`` (find the serial port), ``esptool_ops`` (identify, erase and
write the chip), ``image`` (obtain and check a MicroPython image), ``compile`` (mpy-cross),
``link`` (the board's raw REPL through mpremote), ``deploy`` (A/B slot copy and atomic
switch), ``verify`` (read back the running version), ``board_ops`` (``hipsense board``).
The CLI layer adds progress bars through the callbacks these modules take.
"""
