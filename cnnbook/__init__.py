"""cnnbook"""
