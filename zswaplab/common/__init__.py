"""Small pieces shared by the lab and the agent: TOML key positions and size/duration units."""
