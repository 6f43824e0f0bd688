"""Moved to :mod:`forecast.cli.backtest`; this path re-exports it for one release
(``python -m forecast.backtest.command`` still runs ``forecast backtest``)."""

from forecast.cli.backtest import HELP, backtest, main, skipped_notes, summary_json

__all__ = ["HELP", "backtest", "main", "skipped_notes", "summary_json"]

if __name__ == "__main__":
    main()
