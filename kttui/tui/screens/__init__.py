"""The console's screens: sessions, sweep dashboard, spec editor, trial detail, help."""
