"""What every part of the project agrees on: settings, the event schemas, the landing layout."""
