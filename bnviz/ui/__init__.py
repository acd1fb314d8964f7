"""The only Streamlit code outside pages/: URL sync, controls, live panels."""
