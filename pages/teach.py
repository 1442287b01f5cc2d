from webapp import teach

teach.run()
