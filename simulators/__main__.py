"""``python -m simulators``: the same as ``ecohub simulate``."""

from simulators import main

raise SystemExit(main())
