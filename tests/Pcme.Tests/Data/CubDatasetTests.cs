using Pcme.Data;
using SkiaSharp;

namespace Pcme.Tests.Data;

public sealed class CubDatasetTests : IDisposable
{
    readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    string Cub => folder.PathOf("CUB_200_2011");
    string Text => folder.PathOf("cvpr2016_cub", "text_c10");

    /// <summary>CUB-200-2011 + Reed et al.'s layout with three classes and six images.</summary>
    void WriteFixture()
    {
        folder.Write("CUB_200_2011/classes.txt", "1 001.Black_footed_Albatross\n2 002.Laysan_Albatross\n3 003.Sooty_Albatross\n");
        folder.Write("CUB_200_2011/images.txt", string.Join("\n",
            "1 001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.jpg",
            "2 001.Black_footed_Albatross/Black_Footed_Albatross_0002_55.jpg",
            "3 002.Laysan_Albatross/Laysan_Albatross_0001_545.jpg",
            "4 003.Sooty_Albatross/Sooty_Albatross_0001_1071.jpg",
            "5 002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg",
            "6 001.Black_footed_Albatross/Black_Footed_Albatross_0003_796136.jpg") + "\n");
        folder.Write("cvpr2016_cub/trainvalclasses.txt", "001.Black_footed_Albatross\n002.Laysan_Albatross\n");
        folder.Write("cvpr2016_cub/testclasses.txt", "003.Sooty_Albatross\n");

        folder.WriteBytes("CUB_200_2011/images/001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.jpg", ImageFiles.Jpeg(6, 4, (x, _) => ((byte)(40 * x), 0, 0)));
        folder.WriteBytes("CUB_200_2011/images/001.Black_footed_Albatross/Black_Footed_Albatross_0002_55.jpg", ImageFiles.Jpeg(6, 4, (_, _) => (0, 0, 0)));
        folder.WriteBytes("CUB_200_2011/images/002.Laysan_Albatross/Laysan_Albatross_0001_545.jpg", ImageFiles.Jpeg(6, 4, (_, _) => (0, 90, 0)));
        folder.WriteBytes("CUB_200_2011/images/003.Sooty_Albatross/Sooty_Albatross_0001_1071.jpg", ImageFiles.Jpeg(6, 4, (_, _) => (0, 0, 90)));
        // Some real CUB images are grayscale JPEGs.
        folder.WriteBytes("CUB_200_2011/images/001.Black_footed_Albatross/Black_Footed_Albatross_0003_796136.jpg", ImageFiles.EncodeGray(6, 4, (_, _) => 128, SKEncodedImageFormat.Jpeg));
        // Laysan_Albatross_0002_1027.jpg: captions but no image file.

        folder.Write("cvpr2016_cub/text_c10/001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.txt", "this bird has a white belly\na large bird with long wings\n\n  webbed feet and a hooked bill  \n");
        // Black_Footed_Albatross_0002_55: image but no caption file.
        folder.Write("cvpr2016_cub/text_c10/002.Laysan_Albatross/Laysan_Albatross_0001_545.txt", "a white and grey bird\n");
        folder.Write("cvpr2016_cub/text_c10/002.Laysan_Albatross/Laysan_Albatross_0002_1027.txt", "no image for this one\n");
        folder.Write("cvpr2016_cub/text_c10/003.Sooty_Albatross/Sooty_Albatross_0001_1071.txt", "a dark brown bird\n");
        folder.Write("cvpr2016_cub/text_c10/001.Black_footed_Albatross/Black_Footed_Albatross_0003_796136.txt", "a grey bird\nblack feet\n");
    }

    [Fact]
    public void Loads_the_split_classes_with_ids_paths_captions_and_classes()
    {
        WriteFixture();
        var data = CubDataset.Load(Cub, Text, folder.PathOf("cvpr2016_cub", "trainvalclasses.txt"));

        Assert.Equal("cub-trainval", data.Name);
        Assert.Equal(["Black_Footed_Albatross_0001_796111", "Laysan_Albatross_0001_545", "Black_Footed_Albatross_0003_796136"], data.Images.Select(i => i.Id));
        Assert.Equal([0, 1, 0], data.Images.Select(i => i.ClassId!.Value));
        Assert.Equal(Path.Combine(Cub, "images", "001.Black_footed_Albatross", "Black_Footed_Albatross_0001_796111.jpg"), data.Images[0].Path);
        Assert.Equal("002.Laysan_Albatross", data.ClassNames[1]);

        Assert.Equal(["Black_Footed_Albatross_0001_796111#0", "Black_Footed_Albatross_0001_796111#1", "Black_Footed_Albatross_0001_796111#3",
                      "Laysan_Albatross_0001_545#0", "Black_Footed_Albatross_0003_796136#0", "Black_Footed_Albatross_0003_796136#1"], data.Captions.Select(c => c.Id));
        Assert.Equal("webbed feet and a hooked bill", data.Captions[2].Text);
        Assert.Equal([0, 0, 0, 1, 2, 2], data.Captions.Select(c => c.ImageIndex));
    }

    [Fact]
    public void The_folder_holding_text_c10_works_as_the_captions_root_too()
    {
        WriteFixture();
        var direct = CubDataset.Load(Cub, Text, folder.PathOf("cvpr2016_cub", "trainvalclasses.txt"));
        var parent = CubDataset.Load(Cub, folder.PathOf("cvpr2016_cub"), folder.PathOf("cvpr2016_cub", "trainvalclasses.txt"));
        Assert.Equal(direct.Captions.Select(c => c.Text), parent.Captions.Select(c => c.Text));
        Assert.Equal(6, parent.Captions.Count);
    }

    [Fact]
    public void Relevance_is_same_class()
    {
        WriteFixture();
        var data = CubDataset.Load(Cub, Text, folder.PathOf("cvpr2016_cub", "trainvalclasses.txt"));
        Assert.IsType<SameClassRelevance>(data.Relevance);
        Assert.Equal([0, 2], data.Relevance.ImagesFor(0));
        Assert.True(data.Relevance.IsRelevant(4, 0));
        Assert.False(data.Relevance.IsRelevant(3, 0));
        Assert.Equal([3], data.Relevance.CaptionsFor(1));
    }

    [Fact]
    public void Records_images_without_caption_file_or_image_file_and_empty_caption_lines()
    {
        WriteFixture();
        var data = CubDataset.Load(Cub, Text, folder.PathOf("cvpr2016_cub", "trainvalclasses.txt"));

        Assert.Equal(3, data.Skipped.Count);
        Assert.Contains(data.Skipped, s => s.Source.Contains("images.txt:2") && s.Reason.Contains("no caption file") && s.Reason.Contains("Black_Footed_Albatross_0002_55.txt"));
        Assert.Contains(data.Skipped, s => s.Source.Contains("images.txt:5") && s.Reason.Contains("Laysan_Albatross_0002_1027.jpg") && s.Reason.Contains("does not exist"));
        Assert.Contains(data.Skipped, s => s.Source.EndsWith("Black_Footed_Albatross_0001_796111.txt:3") && s.Reason.Contains("empty"));
    }

    [Fact]
    public void Test_split_and_grayscale_images_load_as_rgb()
    {
        WriteFixture();
        var test = CubDataset.Load(Cub, Text, folder.PathOf("cvpr2016_cub", "testclasses.txt"));
        Assert.Equal("cub-test", test.Name);
        Assert.Equal(["Sooty_Albatross_0001_1071"], test.Images.Select(i => i.Id));
        Assert.Equal(2, test.Images[0].ClassId);
        Assert.Empty(test.Skipped);

        var trainval = CubDataset.Load(Cub, Text, folder.PathOf("cvpr2016_cub", "trainvalclasses.txt"));
        Assert.Equal(SKColorType.Gray8, ImageFiles.StoredColorType(File.ReadAllBytes(trainval.Images[2].Path!)));
        var gray = trainval.LoadImage(2);
        Assert.Equal((6, 4), (gray.Width, gray.Height));
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 6; x++)
            {
                var (r, g, b) = gray[x, y];
                Assert.True(r == g && g == b && Math.Abs(r - 128) <= 2, $"pixel ({x}, {y}) = ({r}, {g}, {b})");
            }
    }

    [Fact]
    public void A_split_class_unknown_to_classes_txt_names_file_line_and_class()
    {
        WriteFixture();
        var split = folder.Write("cvpr2016_cub/bad.txt", "001.Black_footed_Albatross\n\n999.Dodo\n");
        var e = Assert.Throws<DataException>(() => CubDataset.Load(Cub, Text, split));
        Assert.Contains($"{split}:3", e.Message);
        Assert.Contains("999.Dodo", e.Message);
    }

    [Fact]
    public void A_malformed_listing_line_names_file_and_line()
    {
        WriteFixture();
        folder.Write("CUB_200_2011/images.txt", "1 001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.jpg\nnot-a-number 001.Black_footed_Albatross/x.jpg\n");
        var e = Assert.Throws<DataException>(() => CubDataset.Load(Cub, Text, folder.PathOf("cvpr2016_cub", "trainvalclasses.txt")));
        Assert.Contains($"{Path.Combine(Cub, "images.txt")}:2", e.Message);
    }

    [Fact]
    public void Missing_listing_files_and_folders_are_named()
    {
        WriteFixture();
        File.Delete(Path.Combine(Cub, "classes.txt"));
        var e = Assert.Throws<DataException>(() => CubDataset.Load(Cub, Text, folder.PathOf("cvpr2016_cub", "trainvalclasses.txt")));
        Assert.Contains(Path.Combine(Cub, "classes.txt"), e.Message);
        Assert.Contains("does not exist", e.Message);

        e = Assert.Throws<DataException>(() => CubDataset.Load(Cub, folder.PathOf("nowhere"), folder.PathOf("cvpr2016_cub", "trainvalclasses.txt")));
        Assert.Contains(folder.PathOf("nowhere"), e.Message);
        Assert.Contains("text_c10", e.Message);
    }
}
