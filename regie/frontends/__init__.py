"""The pages users read: WML for WAP phones, HTML for feature phones, smartphones and desktops."""
