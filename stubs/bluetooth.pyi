"""Project-owned stub for MicroPython's ``bluetooth`` module (peripheral subset).

Replaces micropython-esp32-stubs' ``bluetooth.pyi``, whose handles are typed as
``memoryview`` and whose ``gatts_notify`` lacks ``conn_handle`` (see docs/toolchain.md).
Signatures follow https://docs.micropython.org/en/latest/library/bluetooth.html.
"""

from typing import Any, Callable, Final, overload

FLAG_BROADCAST: Final[int]
FLAG_READ: Final[int]
FLAG_WRITE_NO_RESPONSE: Final[int]
FLAG_WRITE: Final[int]
FLAG_NOTIFY: Final[int]
FLAG_INDICATE: Final[int]

_Buffer = bytes | bytearray | memoryview
_Descriptor = tuple["UUID", int]
_Characteristic = tuple["UUID", int] | tuple["UUID", int, tuple[_Descriptor, ...]]
_Service = tuple["UUID", tuple[_Characteristic, ...]]

class UUID:
    def __init__(self, value: int | str | _Buffer, /) -> None: ...

class BLE:
    def __init__(self) -> None: ...
    @overload
    def active(self) -> bool: ...
    @overload
    def active(self, active: bool, /) -> bool: ...
    @overload
    def config(self, param: str, /) -> Any: ...
    @overload
    def config(self, **kwargs: Any) -> None: ...
    def irq(self, handler: Callable[[int, tuple[Any, ...]], Any], /) -> None: ...
    def gap_advertise(
        self,
        interval_us: int | None,
        adv_data: _Buffer | None = None,
        /,
        *,
        resp_data: _Buffer | None = None,
        connectable: bool = True,
    ) -> None: ...
    def gap_disconnect(self, conn_handle: int, /) -> bool: ...
    def gatts_register_services(
        self, services_definition: tuple[_Service, ...] | list[_Service], /
    ) -> tuple[tuple[int, ...], ...]: ...
    def gatts_read(self, value_handle: int, /) -> bytes: ...
    def gatts_write(self, value_handle: int, data: _Buffer, send_update: bool = False, /) -> None: ...
    def gatts_notify(self, conn_handle: int, value_handle: int, data: _Buffer | None = None, /) -> None: ...
    def gatts_indicate(self, conn_handle: int, value_handle: int, data: _Buffer | None = None, /) -> None: ...
    def gatts_set_buffer(self, value_handle: int, len: int, append: bool = False, /) -> None: ...
