from webapp import live

live.run()
