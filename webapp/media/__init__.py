"""Users' own media (pictures, clips, music): what a file really is, and whether to keep it."""
