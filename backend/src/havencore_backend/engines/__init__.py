"""Model engines, one per file behind one small interface per role; they know nothing of protocols."""
