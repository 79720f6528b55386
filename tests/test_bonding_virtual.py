"""Security on the whole virtual board (the real firmware, the simulated radio, the bleak
backend): an unbonded central, a neighbour's device, is refused at every characteristic and
every command and changes nothing on the board's flash; the bonded host can do everything;
pairing outside the board's pairing window is refused; ``board forget`` clears the bonds.
docs/link.md "Security"."""

from __future__ import annotations

import asyncio
import struct

import pytest
from hipsense.link.protocol import (
    CONTROL_UUID,
    DATA_UUID,
    STATUS_UUID,
    Command,
    encode_command,
    reply_settings,
)
from hipsense.link.protocol.constants import COMMAND_ARGS_FORMAT
from hipsense.link.session import Session
from hipsense.link.transport import NotBonded
from hipsense.link.transport.ble import BleTransport
from hipsense.link.transport.bonding import PairingRefused, forget_bonds, pair_board
from hipsense.virtual.bleak_backend import VirtualClient, VirtualScanner
from hipsense.virtual.launch import RunningVirtualBoard, VirtualBoardOptions, virtual_board
from hipsense.virtual.radio import AttError, VirtualCentral, VirtualRadio

NEIGHBOUR = "02:11:22:33:44:55"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
FLASH_SETTINGS = ("hs_mount.json", "hs_config.json", "hs_bias.json")
MOUNTING = (0.5, 0.5, -0.5, 0.5)
_ARGS = {Command.SET_RATE: (200,), Command.SET_CONTENT: (1,), Command.CALIBRATE_GYRO: (1,),
         Command.ALIGN_MOUNTING: (1,), Command.MARKER: (1,), Command.RESEND: (0,),
         Command.SET_MOUNTING: MOUNTING, Command.PAIRING: (60,)}  # fmt: skip


def every_command() -> list[bytes]:
    """One well-formed frame of every command the protocol has."""
    return [
        encode_command(i + 1, cmd, struct.pack("<" + COMMAND_ARGS_FORMAT[cmd], *_ARGS.get(cmd, ())))
        for i, cmd in enumerate(Command)
        if cmd.known
    ]


def transport(running: RunningVirtualBoard, central: VirtualCentral | None = None) -> BleTransport:
    kwargs: dict = {"radio": running.radio}
    if central is not None:
        kwargs["central"] = central
    return BleTransport(
        running.name,
        scanner_backend=VirtualScanner,
        client_backend=VirtualClient,
        backend_kwargs=kwargs,
        reconnect=False,
        scan_timeout_s=5.0,
    )


def handle(running: RunningVirtualBoard, uuid: str) -> int:
    return next(e.handle for e in running.board.gatt if e.uuid == uuid)


async def test_a_neighbour_is_refused_everywhere_and_changes_nothing(tmp_path) -> None:
    async with virtual_board(VirtualBoardOptions(scenario="still")) as running:
        radio: VirtualRadio = running.radio
        neighbour = radio.new_central(NEIGHBOUR)
        link = await running.board.connect(5.0, neighbour)
        notified: list[bytes] = []
        link.on_notify = lambda _h, data: notified.append(data)
        refused: dict[str, int] = {}
        for uuid in (STATUS_UUID, BATTERY_LEVEL_UUID):
            with pytest.raises(AttError) as err:
                await link.read(handle(running, uuid))
            refused[uuid] = err.value.code
        control = handle(running, CONTROL_UUID)
        codes = []
        for frame in every_command():
            with pytest.raises(AttError) as err:
                await link.write(control, frame, response=True)
            codes.append(err.value.code)
            await link.write(control, frame, response=False)  # no answer, and no effect
        await link.write(handle(running, DATA_UUID) + 1, b"\x01\x00", response=True)
        await asyncio.sleep(1.0)
        # It pairs: the window is closed (the host bonded), so it gets encryption, no bond,
        # and the board drops it at once.
        bonded = await link.pair(timeout_s=5.0)
        for _ in range(100):
            if not link.connected:
                break
            await asyncio.sleep(0.02)
        assert refused == {STATUS_UUID: 0x0F, BATTERY_LEVEL_UUID: 0x0F}
        assert codes == [0x0F] * len(codes) and len(codes) == 16
        assert notified == [], "no sample, status or reply reached the neighbour"
        assert not bonded and not link.connected and not neighbour.bonds
        assert not any((running.flash_dir / name).exists() for name in FLASH_SETTINGS)

        # Pairing the way `hipsense pair` does: refused, with what to do.
        with pytest.raises(PairingRefused, match="hold the sensor's button for 3 s"):
            await pair_board(
                running.name,
                scanner_backend=VirtualScanner,
                client_backend=VirtualClient,
                backend_kwargs={"radio": radio, "central": neighbour},
                scan_timeout_s=5.0,
            )
        with pytest.raises(NotBonded, match="hipsense pair"):
            await transport(running, neighbour).open()

        # The bonded host: the board's settings are untouched, then it changes them.
        async with Session(transport(running)) as session:
            before = reply_settings(await session.command(Command.GET_SETTINGS))
            await session.command(Command.SET_MOUNTING, struct.pack("<4f", *MOUNTING))
            after = reply_settings(await session.command(Command.GET_SETTINGS))
            await session.command(Command.START)
            block = await asyncio.wait_for(session.samples().__anext__(), 10.0)
            await session.command(Command.STOP)
        assert before is not None and before.mounting_wxyz is None and before.rate_hz == 100
        assert after is not None and after.mounting_wxyz == pytest.approx(MOUNTING, abs=1e-6)
        assert (running.flash_dir / "hs_mount.json").exists()
        assert len(block.seq) > 0, "the bonded host gets samples"


async def test_forget_clears_the_bonds_on_both_sides() -> None:
    async with virtual_board(VirtualBoardOptions(scenario="still")) as running:
        bonds_file = running.flash_dir / "hs_bonds.bin"
        had_file = bonds_file.exists()
        await forget_bonds(transport(running))
        for _ in range(100):  # the board drops the link after its reply
            if running.board.link is None:
                break
            await asyncio.sleep(0.02)
        assert had_file and not bonds_file.exists()
        assert not running.radio.central.bonds, "this computer forgot its bond too"
        with pytest.raises(NotBonded):
            await transport(running).open()
        # The window opens only at a new board's first start, a long press or over USB.
        with pytest.raises(PairingRefused):
            await pair_board(
                running.name,
                scanner_backend=VirtualScanner,
                client_backend=VirtualClient,
                backend_kwargs={"radio": running.radio},
                scan_timeout_s=5.0,
            )
