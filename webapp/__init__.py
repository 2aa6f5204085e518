"""The Streamlit web app: pages, data-source sidebar, map layers."""
