"""genre_model: music-genre classification for the 10 GTZAN genres. No Streamlit in here."""

__version__ = "0.1.0"
