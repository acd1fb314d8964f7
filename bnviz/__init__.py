"""bnviz: the engine behind the app (no Streamlit outside bnviz/ui/)."""
