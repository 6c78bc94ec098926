"""The read side of the board and the wall: cards with filters, counts, ages and the
demand chart. Entry module: ``queries``."""
