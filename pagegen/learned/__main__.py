"""``python -m pagegen.learned train LOGS OUT``: train the learned row scorer."""

from ._train import main

raise SystemExit(main())
