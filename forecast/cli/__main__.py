"""``python -m forecast.cli``: the same as the ``forecast`` console script."""

from forecast.cli import main

main()
