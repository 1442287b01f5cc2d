"""The Streamlit app's logic. Page files in pages/ stay thin and call into here."""
