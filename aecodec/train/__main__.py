"""``python -m aecodec.train --config FILE --run-dir DIR``: train or resume a codec."""

from aecodec.train.cli import main

main()
