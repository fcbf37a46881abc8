"""Korean formats as Korean readers (and CLDR, browsers' ko-KR) write them, where Django's ko differs:
the time of day before the hour ("오후 3:04"), also after a date, and short dates as "2026. 11. 26."."""

DATETIME_FORMAT = "Y년 n월 j일 A g:i"
SHORT_DATE_FORMAT = "Y. n. j."
SHORT_DATETIME_FORMAT = "Y. n. j. A g:i"
