"""Flashing MicroPython and deploying the hipsense firmware onto a board (``hipsense flash``).

One module per job: ``ports`` (find the serial port), ``esptool_ops`` (identify, erase and
write the chip), ``image`` (obtain and check a MicroPython image), ``compile`` (mpy-cross),
``link`` (the board's raw REPL through mpremote), ``deploy`` (A/B slot copy and atomic
switch), ``verify`` (read back the running version), ``profiles`` (board profiles),
``board_ops`` (``hipsense board``), ``flow`` (the whole ``hipsense flash``), ``errors``.
The CLI layer adds progress bars through the callbacks these modules take. The design is in
docs/flashing.md.
"""
