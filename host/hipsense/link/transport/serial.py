"""Serial transport on pyserial: the same frames as BLE, framed as COBS + CRC-16.

``port`` is a device (``/dev/ttyUSB0``, ``COM3``) or any pyserial URL (``serial_for_url``:
``loop://``, ``socket://host:port``, ...). A reader thread splits the byte stream into frames
(damaged ones are dropped and counted by :class:`~hipsense.link.protocol.SerialDeframer`) and
hands them to the event loop. Command tokens are chosen so that the encoded bytes hold no
0x03, which the board's REPL would take for Ctrl-C before it switches to frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

import serial

from hipsense.link.protocol import SerialDeframer, serial_encode
from hipsense.link.transport.base import AdapterUnavailable, LinkDown, Transport

BAUD_RATE = 115200
_READ_TIMEOUT_S = 0.05


class SerialTransport(Transport):
    name = "serial"

    def __init__(self, port: str, baud_rate: int = BAUD_RATE) -> None:
        super().__init__()
        self.port = port
        self.baud_rate = baud_rate
        self.deframer = SerialDeframer()
        self._serial: serial.Serial | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def connected(self) -> bool:
        return self._serial is not None and not self._stop.is_set()

    async def open(self) -> None:
        try:
            self._serial = serial.serial_for_url(
                self.port, self.baud_rate, timeout=_READ_TIMEOUT_S, write_timeout=2.0
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise AdapterUnavailable(
                f"cannot open serial port {self.port}: {exc}; check the cable, the port name "
                "(`hipsense board info` without --port lists the ports it sees) and that no "
                "other program (a serial monitor, "
                "mpremote) holds it; on Linux your user needs the `dialout` group"
            ) from exc
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._thread = threading.Thread(target=self._reader, name="hipsense-serial", daemon=True)
        self._thread.start()
        self._put_state(True)

    def _reader(self) -> None:
        ser, loop = self._serial, self._loop
        assert ser is not None and loop is not None
        while not self._stop.is_set():
            try:
                data = ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError) as exc:
                if not self._stop.is_set():
                    loop.call_soon_threadsafe(self._put_state, False, f"serial port error: {exc}")
                    self._stop.set()
                return
            if data:
                for frame in self.deframer.feed(data):
                    loop.call_soon_threadsafe(self._put_frame, frame)

    def token_ok(self, frame: bytes) -> bool:
        return 0x03 not in serial_encode(frame)

    async def send(self, frame: bytes) -> None:
        ser = self._serial
        if ser is None or self._stop.is_set():
            raise LinkDown(f"serial port {self.port} is not open")
        data = serial_encode(frame)
        try:
            await asyncio.get_running_loop().run_in_executor(None, ser.write, data)
        except (serial.SerialException, OSError) as exc:
            raise LinkDown(f"writing to {self.port} failed: {exc}") from exc

    async def close(self) -> None:
        await super().close()
        self._stop.set()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 1.0)
        if self._serial is not None:
            with contextlib.suppress(Exception):
                self._serial.close()
            self._serial = None
