package fakedouyin

import "math/rand/v2"

// pick returns a random element of list.
func pick(rng *rand.Rand, list []string) string {
	return list[rng.IntN(len(list))]
}

// creatorNames seeds account nicknames.
var creatorNames = []string{"小城美食记", "阿杰的日常", "旅行的小鹿", "健身达人阿强", "手工坊小雨", "萌宠乐园", "数码老王"}

// fanNames are nicknames of simulated fans.
var fanNames = []string{
	"快乐的小猪", "用户8372615", "晚风", "一只小可爱", "山川湖海", "追光的人", "柠檬不酸",
	"隔壁老张", "爱吃火锅", "小太阳☀️", "星河滚烫", "南方姑娘", "路人甲", "奶茶续命", "不想上班",
}

// videoDescs are captions of generated videos.
var videoDescs = []string{
	"今天做了一道家常红烧肉 #美食 #家常菜", "周末带你逛逛古镇 #旅行", "三分钟学会这个小技巧 #生活妙招",
	"我家猫咪又在搞事情 #萌宠", "新手也能学会的手工 #手工", "开箱最新款手机 #数码",
}

// commentTexts are texts of generated comments.
var commentTexts = []string{
	"太好看了吧！", "请问这个在哪里买的？", "已关注，期待更新", "哈哈哈笑死我了", "学到了，谢谢分享",
	"第一次刷到你的视频，爱了", "求教程！", "这个地方我也去过，真的很美", "支持一下🌹", "博主好厉害👍",
	"能不能出个详细版", "看饿了😂", "背景音乐叫什么名字？", "已收藏", "同城的可以约吗",
}

// dmTexts are texts of generated direct messages.
var dmTexts = []string{
	"你好，请问可以合作吗？", "在吗？", "视频里的东西在哪里买的呀", "博主你好，想咨询一下价格",
	"谢谢你的分享，很有帮助", "可以加个微信吗", "请问还有货吗", "你好呀😊", "什么时候直播？",
}

// systemTexts are texts of system notices inside conversations.
var systemTexts = []string{"你们已互相关注，可以开始聊天了", "对方已开启消息免打扰", "以上为历史消息"}

// ipLabels are ip_label values of comments.
var ipLabels = []string{"广东", "北京", "上海", "四川", "浙江", "湖南", "江苏", "山东"}
