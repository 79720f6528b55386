# hipsense launcher (root /main.py on the board): starts the active firmware slot.
# Kept tiny and rarely changed; the logic lives in hs_boot.py (see docs/flashing.md).
import hs_boot

hs_boot.start()
