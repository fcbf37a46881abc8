"""Korean: the time of day reads "오후 3:04", before the hour, also after a date (Django's ko puts it after)."""

DATETIME_FORMAT = "Y년 n월 j일 A g:i"
