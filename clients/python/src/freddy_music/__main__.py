"""``python -m freddy_music`` is the ``freddy-music`` command."""

import sys

from freddy_music.cli import main

sys.exit(main())
